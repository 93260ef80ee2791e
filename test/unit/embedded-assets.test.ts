import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROWSE_JS } from '../../handlers/browse/browse-js.generated.js';
import { HISTORY_JS } from '../../handlers/browse/history-js.generated.js';
import { encodePath, TUS_VERSION } from '../../shared/wire.js';
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

describe('the page scripts keep the wire contract (shared/wire.ts)', () => {
  it('browse.js speaks the tus version the server does', () => {
    expect(/var TUS_VERSION = '([^']*)';/.exec(BROWSE_JS)?.[1]).toBe(TUS_VERSION);
    // Every use goes through the constant: no second literal to drift.
    expect(BROWSE_JS.match(/'\d+\.\d+\.\d+'/g)).toEqual([`'${TUS_VERSION}'`]);
  });

  it.each([
    ['browse.js', BROWSE_JS],
    ['history.js', HISTORY_JS],
  ])('%s encodes paths as the server and the client do', (_, script) => {
    const source = /function encodePath\(p\) \{[^\n]*\}/.exec(script)?.[0];
    expect(source, 'encodePath not found').toBeDefined();
    const theirs = new Function(`${source}; return encodePath;`)() as (p: string) => string;
    for (const p of ['alice/a b/c.txt', 'bob/ü/€ #?%.md', 'x/100%/a&b=c', 'ns/\u{1F600}/;,+', 'a//b/']) expect(theirs(p)).toBe(encodePath(p));
  });
});
