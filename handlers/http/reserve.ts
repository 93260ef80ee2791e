import { AppError, InsufficientStorageError, isOutOfSpace, QuotaExceededError } from '../../core/errors.js';
import type { AppDeps } from '../../core/deps.js';

/** The disk is full; a quota is not (the reserve would not help it). */
function isFull(err: unknown): boolean {
  return isOutOfSpace(err) || (err instanceof AppError && err.kind === 'insufficient-storage' && !(err instanceof QuotaExceededError));
}

/**
 * Runs one step of freeing space (a delete's catalog write, releasing a blob). When the disk is
 * too full even for that, the space reserve is released and the step tried once more; once
 * space is back the reserve is taken again. Steps must be safe to run twice.
 */
export async function freeingSpace<T>(deps: AppDeps, step: () => Promise<T>): Promise<T> {
  const reserve = deps.reserve;
  if (!reserve) return step();
  let result: T;
  try {
    result = await step();
  } catch (err) {
    if (!isFull(err) || !(await reserve.release())) throw err;
    (deps.log ?? console.log)('disk full: released the space reserve so that a delete can go through');
    result = await step();
  }
  await reserve.restore();
  return result;
}

/**
 * Uploads wait until the reserve is held again: space freed by deletes goes back to the reserve
 * first, so the next delete on a full disk works too.
 */
export async function assertReserveHeld(deps: AppDeps): Promise<void> {
  if (deps.reserve && !(await deps.reserve.restore())) {
    throw new InsufficientStorageError('insufficient storage: the disk is (nearly) full; delete files to make room');
  }
}
