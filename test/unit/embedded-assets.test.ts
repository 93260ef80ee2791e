import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROWSE_JS } from '../../handlers/browse/browse-js.generated.js';
import { assetModule, EMBEDDED_ASSETS, type EmbeddedAsset } from '../../scripts/asset-module.js';
import { ROOT } from '../helpers/server.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Evaluates a generated module's constant (its body is plain JavaScript after `export const`). */
function evaluate(moduleText: string): unknown {
  const body = moduleText.replace(/^export const \w+ =/m, 'return');
  return new Function(body)();
}

const SAMPLE: EmbeddedAsset = { source: 'x/sample.js', module: 'x/sample.generated.ts', exportName: 'SAMPLE' };

describe('generated asset modules', () => {
  it.each(EMBEDDED_ASSETS.map((a) => [a.module, a] as const))('%s matches its source (else: npm run generate:assets)', (_, asset) => {
    expect(read(asset.module), `${asset.module} is stale: run npm run generate:assets`).toBe(assetModule(asset, read(asset.source)));
  });

  it('the served script is browse.js byte for byte', () => {
    expect(BROWSE_JS).toBe(read('handlers/browse/browse.js'));
  });

  it.each([
    ['empty', ''],
    ['one line, no newline', 'a'],
    ['trailing newline', 'a\nb\n'],
    ['blank lines', '\n\n\n'],
    ['quotes and backslashes', `'"\\u2026 /^\\d+$/ \\\\`],
    ['template syntax', '`${x}` ${'],
    ['CR and line separators', 'a\r\nb\u2028c\u2029d'],
    ['non-ASCII', 'Ünïcødé 日本語 ✓ \u{1F600}'],
    ['a closing comment and bracket', '*/ ]; ].join(\'\\n\');'],
  ])('round-trips %s', (_, text) => {
    expect(evaluate(assetModule(SAMPLE, text))).toBe(text);
  });
});
