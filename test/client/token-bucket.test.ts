import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { throttle, TokenBucket } from '../../client/token-bucket.js';
import { fakeClock } from './fake-clock.js';

describe('TokenBucket', () => {
  it.each([
    // rate B/s, burst, takes, expected total wait (ms)
    ['within the burst: no wait', 1000, 1000, [500, 500], 0],
    ['one burst over: wait for the rest', 1000, 1000, [1000, 1000], 1000],
    ['5000 bytes at 1000/s with a 1000 burst', 1000, 1000, [1000, 1000, 1000, 1000, 1000], 4000],
    ['a take larger than the burst waits for its deficit', 1000, 100, [1100], 1000],
    ['small pieces add up', 2048, 1024, Array(16).fill(256), 1500],
  ] as const)('%s', (_name, rate, burst, takes, waited) => {
    const clock = fakeClock();
    const b = new TokenBucket({ rate, burst, clock });
    return (async () => {
      for (const n of takes) await b.take(n);
      expect(b.stats.bytes).toBe(takes.reduce((a, n) => a + n, 0));
      expect(b.stats.waitedMs).toBe(waited);
      expect(clock.now()).toBe(waited);
      expect(b.stats.spanMs).toBe(waited);
      expect(b.stats.bytes).toBeLessThanOrEqual(burst + (rate * b.stats.spanMs) / 1000);
    })();
  });

  it('refills while idle, never above the burst', async () => {
    const clock = fakeClock();
    const b = new TokenBucket({ rate: 1000, burst: 1000, clock });
    await b.take(1000);
    clock.advance(10_000);
    await b.take(1000);
    expect(b.stats.waitedMs).toBe(0);
    await b.take(500);
    expect(b.stats.waitedMs).toBe(500);
  });

  it('is one cap for concurrent takers, served in order', async () => {
    const clock = fakeClock();
    const b = new TokenBucket({ rate: 1000, burst: 500, clock });
    const order: string[] = [];
    await Promise.all(
      ['a', 'b', 'c', 'd'].map(async (who) => {
        await b.take(500);
        order.push(who);
      }),
    );
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    // 2000 bytes at 1000 B/s with 500 free up front: 1.5 s in all, not 0.5 s each in parallel.
    expect(clock.now()).toBe(1500);
  });

  it('a cancelled taker does not block the others', async () => {
    const clock = fakeClock();
    const b = new TokenBucket({ rate: 1000, burst: 100, clock });
    const ac = new AbortController();
    ac.abort();
    await expect(b.take(1000, ac.signal)).rejects.toThrow(/cancelled/);
    await b.take(50);
    expect(b.stats.bytes).toBe(50);
  });

  it('uses a sensible default burst', () => {
    expect(new TokenBucket({ rate: 2 * 1024 * 1024 }).burst).toBe(256 * 1024);
    expect(new TokenBucket({ rate: 1024 }).burst).toBe(16 * 1024);
  });
});

describe('throttle', () => {
  it('passes every byte through unchanged, accounted by the bucket', async () => {
    const clock = fakeClock();
    const b = new TokenBucket({ rate: 64 * 1024, burst: 16 * 1024, clock });
    const data = Buffer.alloc(256 * 1024, 7);
    data[12345] = 1;
    const out: Buffer[] = [];
    for await (const c of Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]).pipe(throttle(b))) out.push(c as Buffer);
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(b.stats.bytes).toBe(data.byteLength);
    // (256 KiB - one 16 KiB burst) / 64 KiB/s = 3.75 s of waiting, rounded up per wait.
    expect(b.stats.waitedMs).toBeGreaterThanOrEqual(3750);
    expect(b.stats.waitedMs).toBeLessThan(3750 + 20);
    // Cut to burst-sized pieces: one big chunk does not take the whole rate at once.
    expect(b.stats.waits).toBeGreaterThanOrEqual(15);
  });
});
