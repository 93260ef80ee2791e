import type { AppDeps } from '../../core/deps.js';
import { reclaimExpiredUploads, reclaimIntervalMs } from '../../handlers/tus/expire.js';

export interface ReclaimSchedule {
  /** Stops the timer and waits for a run in progress (call before closing the catalog). */
  stop(): Promise<void>;
}

/**
 * Runs the expired-upload reclaim job now and then periodically (never two runs at once). The
 * timer does not keep the process alive.
 */
export function scheduleUploadReclaim(deps: AppDeps, log: (line: string) => void): ReclaimSchedule {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= reclaimExpiredUploads(deps)
      .then(
        (n) => {
          if (n > 0) log(`uploads: reclaimed ${n} expired upload(s)`);
        },
        (err: unknown) => log(`uploads: reclaiming expired uploads failed: ${(err as Error)?.message ?? String(err)}`),
      )
      .finally(() => {
        running = undefined;
      });
  };
  run();
  const timer = setInterval(run, reclaimIntervalMs(deps.config.uploadExpiryMs));
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
