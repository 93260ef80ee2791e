import { describe, expect, it } from 'vitest';
import { compileRules, extendChain, isExcluded, type RuleChain } from '../../client/ignore-rules.js';

/** --exclude at the top, then a .cbignore in `sub` (depth 1) and one in `sub/deep` (depth 2). */
const chain: RuleChain = extendChain(
  extendChain(extendChain([], 0, compileRules(['*.tmp', 'build/', '*.log'])), 1, compileRules(['# a comment', '', 'secret.txt', '!keep.log', '/anchored.txt'])),
  2,
  compileRules(['!*.tmp']),
);

describe('isExcluded', () => {
  it.each([
    [['a.txt'], false, false],
    [['a.tmp'], false, true],
    [['x', 'y.tmp'], false, true],
    [['build'], true, true],
    // 'build/' matches folders only.
    [['build'], false, false],
    [['src', 'build'], true, true],
    [['app.log'], false, true],
    [['secret.txt'], false, false],
    [['sub', 'secret.txt'], false, true],
    [['sub', 'x', 'secret.txt'], false, true],
    // A deeper .cbignore re-includes what a higher one excluded.
    [['sub', 'keep.log'], false, false],
    [['sub', 'other.log'], false, true],
    [['sub', 'anchored.txt'], false, true],
    [['sub', 'x', 'anchored.txt'], false, false],
    [['sub', 'deep', 'b.tmp'], false, false],
    [['sub', 'c.tmp'], false, true],
  ] as const)('%j (folder: %s) -> %s', (segments, dir, expected) => {
    expect(isExcluded(chain, segments, dir)).toBe(expected);
  });

  it('no rules exclude nothing', () => {
    expect(compileRules([])).toBeUndefined();
    expect(compileRules(['', '# only a comment'])).toBeUndefined();
    expect(isExcluded(extendChain([], 0, undefined), ['a.tmp'], false)).toBe(false);
  });
});
