/**
 * Which old versions retention removes: a pure decision over one path's history, on server
 * upload times. The rules (DESIGN v2), read as snapshots so that "the folder as it was at T"
 * stays answerable at each window's granularity:
 * - keep-all: every version that was current at some moment of the last `keepAllMs`;
 * - keep-daily: the version current at the end of each UTC day up to `keepDailyMs` ago (for a
 *   day with uploads that is its newest version);
 * - keep-weekly: the same at the end of each week (weeks end Sunday 24:00 UTC) up to `keepWeeklyMs`.
 * A path's newest version is always kept, so current content never goes; a deleted path's
 * history goes whole once its deletion is older than every window. 0 turns a window off.
 */

export interface RetentionPolicy {
  keepAllMs: number;
  keepDailyMs: number;
  keepWeeklyMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  keepAllMs: 24 * 3600_000,
  keepDailyMs: 30 * 24 * 3600_000,
  keepWeeklyMs: 26 * 7 * 24 * 3600_000,
};

export interface VersionStamp {
  version: string;
  uploadedAt: number;
  deleted: boolean;
}

const DAY = 24 * 3600_000;
const WEEK = 7 * DAY;
/** 1970-01-01 was a Thursday: weeks that end on Sunday 24:00 UTC start 3 days after the epoch offset. */
const WEEK_OFFSET = 4 * DAY;

/** The last instant of the bucket (day or week) holding `t`. */
function bucketEnd(t: number, size: number, offset: number): number {
  return Math.floor((t - offset) / size) * size + offset + size - 1;
}

/** Moments whose current version is kept: bucket ends from `now - window` up to now. */
function checkpoints(now: number, windowMs: number, size: number, offset: number): number[] {
  if (windowMs <= 0) return [];
  const out: number[] = [];
  for (let end = bucketEnd(now - windowMs, size, offset); end < now; end += size) out.push(end);
  out.push(now);
  return out;
}

/** Index of the version current at `t` (the newest uploaded at or before it), or -1. */
function currentAt(versions: readonly VersionStamp[], t: number): number {
  let found = -1;
  for (let i = 0; i < versions.length; i++) {
    if ((versions[i] as VersionStamp).uploadedAt <= t) found = i;
    else break;
  }
  return found;
}

/** The versions of one path (oldest first) that retention removes now. */
export function prunableVersions(versions: readonly VersionStamp[], now: number, policy: RetentionPolicy): string[] {
  const newest = versions[versions.length - 1];
  if (!newest) return [];
  const longest = Math.max(policy.keepAllMs, policy.keepDailyMs, policy.keepWeeklyMs);
  if (newest.deleted && now - newest.uploadedAt >= longest) return versions.map((v) => v.version);
  const keep = new Set<number>([versions.length - 1]);
  if (policy.keepAllMs > 0) {
    const from = now - policy.keepAllMs;
    const first = currentAt(versions, from);
    for (let i = Math.max(first, 0); i < versions.length; i++) keep.add(i);
  }
  for (const t of [...checkpoints(now, policy.keepDailyMs, DAY, 0), ...checkpoints(now, policy.keepWeeklyMs, WEEK, WEEK_OFFSET)]) {
    const i = currentAt(versions, t);
    if (i >= 0) keep.add(i);
  }
  return versions.filter((_, i) => !keep.has(i)).map((v) => v.version);
}
