import { setTimeout as delay } from 'node:timers/promises';
import { CancelledError } from './errors.js';

/** Time as a dependency: the rate limiter and the retry loop take it, tests pass a fake one. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with CancelledError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  async sleep(ms, signal) {
    try {
      await delay(ms, undefined, { signal });
    } catch (err) {
      if (signal?.aborted) throw new CancelledError();
      throw err;
    }
  },
};
