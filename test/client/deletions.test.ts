import { describe, expect, it } from 'vitest';
import { MAX_INLINE_SETTLE_MS, planDeletions } from '../../client/deletions.js';

const gone = (path: string, sinceMs: number) => ({ path, remotePath: `alice/d/${path}`, sinceMs });

describe('planDeletions', () => {
  it.each([
    ['nothing gone', [], 3000, { due: [], waitMs: 0, later: [] }],
    ['gone long ago: now', [gone('a', 0)], 3000, { due: ['a'], waitMs: 0, later: [] }],
    ['just gone: wait out the settle time in the pass', [gone('a', 10_000)], 3000, { due: ['a'], waitMs: 3000, later: [] }],
    ['the longest wait counts', [gone('a', 9000), gone('b', 10_000)], 3000, { due: ['a', 'b'], waitMs: 3000, later: [] }],
    ['settle 0: at once', [gone('a', 10_000)], 0, { due: ['a'], waitMs: 0, later: [] }],
    ['a settle too long to wait for: later', [gone('a', 10_000), gone('b', 0)], 3_600_000, { due: [], waitMs: 0, later: [['a', 3_610_000], ['b', 3_600_000]] }],
    ['exactly the longest inline wait', [gone('a', 10_000)], MAX_INLINE_SETTLE_MS, { due: ['a'], waitMs: MAX_INLINE_SETTLE_MS, later: [] }],
  ] as const)('%s', (_name, files, settle, expected) => {
    const plan = planDeletions(files, 10_000, settle);
    expect({ due: plan.due.map((f) => f.path), waitMs: plan.waitMs, later: plan.later.map((l) => [l.file.path, l.atMs]) }).toEqual(expected);
  });
});
