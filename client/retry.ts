import { systemClock, type Clock } from './clock.js';
import { CancelledError, HttpStatusError, NetworkError } from './errors.js';

export interface RetryPolicy {
  /** Tries in all (the first included); Infinity = until it works or is cancelled. */
  attempts: number;
  /** Delay scale of the first retry. */
  baseMs: number;
  /** No single wait is longer than this (Retry-After included). */
  maxMs: number;
}

/** A file upload: about 1 + 2 + 4 + 8 + 16 s of patience before the file counts as failed. */
export const UPLOAD_RETRY: RetryPolicy = { attempts: 6, baseMs: 1000, maxMs: 30_000 };

/** Statuses that say "try again later"; every other 4xx is the request's own fault. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Whether a failure may go away by itself: network trouble and the statuses above. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof HttpStatusError) return RETRYABLE_STATUS.has(err.status);
  return false;
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so clients that
 * failed together do not come back together, yet no retry comes immediately. `attempt` counts
 * failures so far (1 = after the first failure).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/** The wait before the next try: the server's Retry-After when it gave one (bounded), else backoff. */
export function retryDelay(err: unknown, attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  if (err instanceof HttpStatusError && err.retryAfterSeconds !== undefined) {
    return Math.min(policy.maxMs, Math.max(0, err.retryAfterSeconds * 1000));
  }
  return backoffDelay(attempt, policy, random);
}

export interface RetryOptions {
  policy: RetryPolicy;
  clock?: Clock;
  random?: () => number;
  signal?: AbortSignal;
  /** Told before each wait, e.g. to print "server unreachable, retrying in 4s". */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /**
   * Asked after a failure: true when the work got further since the previous try (a resumable
   * upload that keeps advancing between drops), which starts the count and the backoff afresh.
   */
  progressed?: () => boolean;
}

/** Runs `fn` until it succeeds, fails for good (not retryable), or the attempts run out. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw new CancelledError();
    try {
      return await fn(attempt);
    } catch (err) {
      if (isRetryable(err) && options.progressed?.()) attempt = 1;
      if (!isRetryable(err) || attempt >= options.policy.attempts || options.signal?.aborted) throw err;
      const wait = retryDelay(err, attempt, options.policy, options.random);
      options.onRetry?.(err, attempt, wait);
      await clock.sleep(wait, options.signal);
    }
  }
}
