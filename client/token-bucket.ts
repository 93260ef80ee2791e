import { Transform } from 'node:stream';
import { systemClock, type Clock } from './clock.js';

export interface TokenBucketOptions {
  /** Bytes per second, shared by everyone who takes from this bucket. */
  rate: number;
  /** Bytes that may pass at once after a quiet period (default rate/8, at least 16 KiB). */
  burst?: number;
  clock?: Clock;
}

/**
 * One rate cap for all uploads together (`--limit-rate`). Takers are served first come, first
 * served, so four parallel uploads share the rate instead of each getting it.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();
  /**
   * Accounting, for progress and tests: bytes let through, the waiting it cost, and the time
   * from the bucket's start to the last grant (bytes never exceed burst + rate x that span).
   */
  readonly stats = { bytes: 0, waitedMs: 0, waits: 0, spanMs: 0 };
  private readonly started: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.rate > 0)) throw new RangeError('rate must be positive');
    this.rate = options.rate;
    this.burst = Math.max(1, Math.floor(options.burst ?? Math.max(16 * 1024, options.rate / 8)));
    this.clock = options.clock ?? systemClock;
    this.tokens = this.burst;
    this.last = this.clock.now();
    this.started = this.last;
  }

  /** Resolves when `n` bytes may be sent. */
  take(n: number, signal?: AbortSignal): Promise<void> {
    const turn = this.tail.then(() => this.takeInTurn(n, signal));
    // A cancelled taker must not block the ones queued behind it.
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private async takeInTurn(n: number, signal?: AbortSignal): Promise<void> {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    if (this.tokens < n) {
      const waitMs = Math.ceil(((n - this.tokens) * 1000) / this.rate);
      this.stats.waits++;
      this.stats.waitedMs += waitMs;
      await this.clock.sleep(waitMs, signal);
      const after = this.clock.now();
      this.tokens = Math.min(this.burst, this.tokens + ((after - this.last) * this.rate) / 1000);
      this.last = after;
    }
    this.tokens -= n;
    this.stats.bytes += n;
    this.stats.spanMs = this.last - this.started;
  }
}

/**
 * A stream stage that lets bytes through only as fast as `bucket` allows. Chunks are cut to the
 * bucket's burst so one big read cannot starve the other uploads.
 */
export function throttle(bucket: TokenBucket, signal?: AbortSignal): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      void (async () => {
        for await (const part of throttled(bucket, chunk, signal)) this.push(part);
      })().then(() => callback(), callback);
    },
  });
}

/**
 * `data` in pieces of at most the bucket's burst (1-64 KiB), each once the bucket lets it
 * through: the throttle stage's work for one chunk, for callers that hold the bytes already.
 */
export async function* throttled(bucket: TokenBucket, data: Buffer, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const piece = Math.max(1024, Math.min(bucket.burst, 64 * 1024));
  for (let off = 0; off < data.byteLength; off += piece) {
    const part = data.subarray(off, Math.min(data.byteLength, off + piece));
    await bucket.take(part.byteLength, signal);
    yield part;
  }
}
