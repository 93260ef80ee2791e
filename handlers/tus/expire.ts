import type { AppDeps } from '../../core/deps.js';
import { uploadLockKey } from './upload-lock.js';
import { dropUpload, isExpired } from './uploads.js';

/**
 * Removes uploads whose expiry passed (unfinished ones and the receipts of finished ones) with
 * their bytes; returns how many. A pure async job: the adapter schedules it. Each upload is
 * re-read under its lock, because a PATCH may have moved its expiry meanwhile.
 */
export async function reclaimExpiredUploads(deps: AppDeps, options: { now?: number; batch?: number } = {}): Promise<number> {
  const now = options.now ?? deps.clock();
  const batch = options.batch ?? 100;
  let reclaimed = 0;
  for (;;) {
    const expired = await deps.catalog.listExpiredUploads(now, batch);
    for (const u of expired) {
      await deps.locks.run(uploadLockKey(u.id), async () => {
        const current = await deps.catalog.getUpload(u.id);
        if (!current || !isExpired(current, now)) return;
        await dropUpload(deps, u.id);
        reclaimed++;
      });
    }
    if (expired.length < batch) return reclaimed;
  }
}

/** How often the adapter runs the job: a quarter of the expiry, between 1 s and 15 min. */
export function reclaimIntervalMs(uploadExpiryMs: number): number {
  return Math.min(15 * 60_000, Math.max(1_000, Math.floor(uploadExpiryMs / 4)));
}
