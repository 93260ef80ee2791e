import { deleteWaitMs } from './change-detect.js';
import { expectStatus, type HttpClient } from './http.js';
import { encodeRemotePath } from './remote-path.js';
import { withRetry, type RetryOptions } from './retry.js';

/** Longest wait for --settle inside a pass; a longer settle leaves the deletion to a later pass or run. */
export const MAX_INLINE_SETTLE_MS = 10_000;

export interface GoneFile {
  path: string;
  remotePath: string;
  /** Since when it is known to be gone (kept in the state DB across runs). */
  sinceMs: number;
}

export interface DeletionPlan<T extends GoneFile> {
  /** Gone long enough once the pass has waited `waitMs`. */
  due: T[];
  waitMs: number;
  /** Gone too recently to wait for in this pass: looked at again at `atMs`. */
  later: { file: T; atMs: number }[];
}

/** Which gone files this pass deletes, and how long it waits for their settle time first. */
export function planDeletions<T extends GoneFile>(gone: readonly T[], nowMs: number, settleMs: number, maxWaitMs = MAX_INLINE_SETTLE_MS): DeletionPlan<T> {
  const plan: DeletionPlan<T> = { due: [], waitMs: 0, later: [] };
  for (const f of gone) {
    const wait = deleteWaitMs(f.sinceMs, nowMs, settleMs);
    if (wait <= maxWaitMs) {
      plan.due.push(f);
      plan.waitMs = Math.max(plan.waitMs, wait);
    } else {
      plan.later.push({ file: f, atMs: nowMs + wait });
    }
  }
  return plan;
}

/**
 * DELETE /files/<path> (the server keeps the history: a tombstone). 'absent' when the server
 * had nothing there any more, which is just as good. Network trouble and 5xx are retried.
 */
export async function deleteOnServer(http: HttpClient, remotePath: string, retry: RetryOptions): Promise<'deleted' | 'absent'> {
  const path = `files/${encodeRemotePath(remotePath)}`;
  return withRetry(async () => {
    const res = await http.request('DELETE', path, { signal: retry.signal });
    if (res.status === 404) return 'absent';
    expectStatus(res, [200, 204], 'DELETE', `/${path}`);
    return 'deleted';
  }, retry);
}
