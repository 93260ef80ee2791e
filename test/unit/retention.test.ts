import { describe, expect, it } from 'vitest';
import { prunableVersions, type RetentionPolicy, type VersionStamp } from '../../storage/history/retention.js';

const H = 3600_000;
const D = 24 * H;
const W = 7 * D;
/** Wednesday 2026-12-02 12:00 UTC. */
const NOW = Date.UTC(2026, 11, 2, 12);
const POLICY: RetentionPolicy = { keepAllMs: D, keepDailyMs: 30 * D, keepWeeklyMs: 26 * W };

/** Versions named by their age: [label, hours before NOW, deleted?]. */
function history(...rows: [string, number, boolean?][]): VersionStamp[] {
  return rows.map(([version, hoursAgo, deleted]) => ({ version, uploadedAt: NOW - hoursAgo * H, deleted: deleted ?? false }));
}

describe('prunableVersions', () => {
  it.each<[string, VersionStamp[], RetentionPolicy, string[]]>([
    ['a single version is current: kept', history(['v1', 5000]), POLICY, []],
    ['everything younger than keep-all is kept', history(['v1', 20], ['v2', 10], ['v3', 1]), POLICY, []],
    // v2 was current when the keep-all window began: "as it was 24 h ago" stays answerable.
    ['the version current at the start of keep-all is kept', history(['v1', 100], ['v2', 30], ['v3', 10]), { ...POLICY, keepDailyMs: 0, keepWeeklyMs: 0 }, ['v1']],
    ['with keep-daily, the version current at the end of an earlier day is kept too', history(['v1', 100], ['v2', 30], ['v3', 10]), POLICY, []],
    // Three uploads on one day 3 days ago: only the newest of that day survives.
    ['keep-daily keeps the newest of each day', history(['a', 84], ['b', 83], ['c', 82], ['d', 2]), POLICY, ['a', 'b']],
    ['days apart are all kept within keep-daily', history(['a', 24 * 5], ['b', 24 * 4], ['c', 24 * 3], ['d', 2]), POLICY, []],
    // 45 days ago is Sat 2026-10-18 (week Mon 10-12 .. Sun 10-18): two uploads that day, one kept.
    ['keep-weekly keeps the newest of each week past keep-daily', history(['a', 24 * 45 + 2], ['b', 24 * 45], ['c', 2]), POLICY, ['a']],
    ['older than every window goes', history(['a', 24 * 7 * 30], ['b', 24 * 7 * 27], ['c', 2]), { ...POLICY, keepAllMs: 0, keepWeeklyMs: 0, keepDailyMs: 0 }, ['a', 'b']],
    ['windows at 0 keep only the current version', history(['a', 3], ['b', 2], ['c', 1]), { keepAllMs: 0, keepDailyMs: 0, keepWeeklyMs: 0 }, ['a', 'b']],
    // Deleted 2 days ago after a year unchanged: the content before the deletion stays restorable.
    ['a recent deletion keeps the content it removed', history(['a', 24 * 365], ['x', 48, true]), POLICY, []],
    ['a deletion older than every window takes the whole history', history(['a', 24 * 400], ['x', 24 * 7 * 27, true]), POLICY, ['a', 'x']],
    ['a deletion younger than the longest window is kept', history(['a', 24 * 400], ['x', 24 * 7 * 25, true]), POLICY, []],
  ])('%s', (_name, versions, policy, expected) => {
    expect(prunableVersions(versions, NOW, policy)).toEqual(expected);
  });

  it('never removes the newest version, whatever the windows', () => {
    for (const policy of [POLICY, { keepAllMs: 0, keepDailyMs: 0, keepWeeklyMs: 0 }]) {
      const v = history(['a', 24 * 900], ['b', 24 * 800]);
      expect(prunableVersions(v, NOW, policy)).not.toContain('b');
    }
    expect(prunableVersions([], NOW, POLICY)).toEqual([]);
  });
});
