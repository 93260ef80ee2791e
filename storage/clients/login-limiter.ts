import { TooManyRequestsError } from '../../core/errors.js';

export interface SlidingLoginLimiterOptions {
  /** Milliseconds since the epoch. */
  clock: () => number;
  /** Failures allowed per key within `windowMs` (default 10). */
  maxFailures?: number;
  /** Default one minute. */
  windowMs?: number;
  /** Keys remembered at most; the least recently failing are forgotten first (default 10,000). */
  maxKeys?: number;
}

/**
 * Limits failed logins per client address: after `maxFailures` failures within `windowMs` every
 * request from that address gets 429 until the oldest of them leaves the window. Successful
 * logins are never counted, so a busy client with a good token is never slowed down. Memory is
 * bounded: at most `maxFailures` timestamps for each of at most `maxKeys` addresses.
 */
// Matches core/deps.ts LoginLimiter structurally (storage does not import handlers).
export class SlidingLoginLimiter {
  readonly #clock: () => number;
  readonly #max: number;
  readonly #window: number;
  readonly #maxKeys: number;
  /** Per key, the times of its latest failures, oldest first. Map order = least recent first. */
  readonly #failures = new Map<string, number[]>();

  constructor(options: SlidingLoginLimiterOptions) {
    this.#clock = options.clock;
    this.#max = options.maxFailures ?? 10;
    this.#window = options.windowMs ?? 60_000;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  check(key: string): void {
    const times = this.#recent(key);
    if (times.length < this.#max) return;
    const until = (times[0] as number) + this.#window;
    throw new TooManyRequestsError('too many failed logins from this address: try again later', Math.max(1, Math.ceil((until - this.#clock()) / 1000)));
  }

  fail(key: string): void {
    const times = this.#recent(key);
    times.push(this.#clock());
    if (times.length > this.#max) times.shift();
    // Re-insert so the map stays ordered by latest failure.
    this.#failures.delete(key);
    this.#failures.set(key, times);
    while (this.#failures.size > this.#maxKeys) {
      const oldest = this.#failures.keys().next().value as string;
      this.#failures.delete(oldest);
    }
  }

  /** A success neither counts nor erases failures: a valid token must not reset a guessing run. */
  succeed(_key: string): void {}

  /** Keys currently remembered (for tests). */
  get size(): number {
    return this.#failures.size;
  }

  #recent(key: string): number[] {
    const times = this.#failures.get(key);
    if (!times) return [];
    const since = this.#clock() - this.#window;
    while (times.length > 0 && (times[0] as number) <= since) times.shift();
    if (times.length === 0) this.#failures.delete(key);
    return times;
  }
}
