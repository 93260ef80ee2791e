/** What the state DB knows about a file: the last state the server confirmed. */
export interface ConfirmedRecord {
  size: number;
  mtimeMs: number;
  sha256: string;
  remotePath: string;
}

/** What the scanner sees now. */
export interface LocalStat {
  size: number;
  mtimeMs: number;
}

export type ScanDecision =
  /** Same size, mtime and remote path as confirmed: nothing to read. */
  | { action: 'unchanged' }
  /** Modified within the settle time: probably still being written; look again later. */
  | { action: 'defer'; retryAtMs: number }
  /** Read and hash it, then decide with `decideAfterHash`. */
  | { action: 'hash' };

/**
 * First decision, from metadata only (cheap enough for 100k files per rescan). A file is a
 * candidate when size or mtime differ from the last confirmed upload, or when it is now meant for
 * another remote path (a changed --prefix or namespace).
 */
export function decideFromStat(local: LocalStat, record: ConfirmedRecord | undefined, remotePath: string, nowMs: number, settleMs: number): ScanDecision {
  if (record && record.size === local.size && record.mtimeMs === local.mtimeMs && record.remotePath === remotePath) {
    return { action: 'unchanged' };
  }
  // A future mtime further off than the settle time is clock skew, not a file being written:
  // deferring it would postpone it until the clock catches up.
  const age = nowMs - local.mtimeMs;
  if (age < settleMs && age > -settleMs) return { action: 'defer', retryAtMs: local.mtimeMs + settleMs };
  return { action: 'hash' };
}

export type HashDecision =
  /** The server already has exactly this at this path: record the new size/mtime only. */
  | { action: 'record' }
  /** Ask the server to link the content by hash, upload when it does not hold it. */
  | { action: 'send' };

/** Second decision, once the content hash is known. */
export function decideAfterHash(sha256: string, record: ConfirmedRecord | undefined, remotePath: string): HashDecision {
  if (record && record.sha256 === sha256 && record.remotePath === remotePath) return { action: 'record' };
  return { action: 'send' };
}

/** How a file's bytes travel: plain PUT, or resumable tus for big files when the server has it. */
export function chooseTransport(size: number, tusAvailable: boolean, thresholdBytes: number): 'put' | 'tus' {
  return tusAvailable && size > thresholdBytes ? 'tus' : 'put';
}

/**
 * After hashing or sending, the file must look exactly as before (`after` undefined: it is
 * gone); otherwise it changed under us and what we read describes older content.
 */
export function sameStat(before: LocalStat, after: LocalStat | undefined): boolean {
  return after !== undefined && before.size === after.size && before.mtimeMs === after.mtimeMs;
}

/** Why a file the state calls unchanged must be sent again: the server lost it, or holds other bytes. */
export type RepairReason = 'missing' | 'different';

/**
 * The full scan's check against the server's listing: the state DB says the server confirmed
 * `record`, the listing says what it holds now (undefined: nothing at that path).
 */
export function repairReason(record: ConfirmedRecord, heldSha256: string | undefined): RepairReason | undefined {
  if (heldSha256 === undefined) return 'missing';
  return heldSha256 === record.sha256 ? undefined : 'different';
}

/** Whether `key` lies at or below one of `dirs` (keys joined by '/'; '' is the whole folder). */
export function isUnder(key: string, dirs: readonly string[]): boolean {
  return dirs.some((d) => d === '' || key === d || key.startsWith(`${d}/`));
}

/** A file gone locally since `sinceMs` may be deleted on the server after --settle: ms still to wait. */
export function deleteWaitMs(sinceMs: number, nowMs: number, settleMs: number): number {
  return Math.max(0, sinceMs + settleMs - nowMs);
}
