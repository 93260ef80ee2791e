import { describe, expect, it } from 'vitest';
import { CancelledError, FileChangedError, HttpStatusError, NetworkError } from '../../client/errors.js';
import { backoffDelay, isRetryable, retryDelay, withRetry, type RetryPolicy } from '../../client/retry.js';
import { fakeClock } from './fake-clock.js';

const http = (status: number, retryAfter?: number) => new HttpStatusError(status, 'x', 'PUT', '/files/a', retryAfter);
const policy: RetryPolicy = { attempts: 5, baseMs: 1000, maxMs: 8000 };

describe('isRetryable', () => {
  it.each([
    ['connection refused', new NetworkError('refused', 'ECONNREFUSED'), true],
    ['408', http(408), true],
    ['429', http(429), true],
    ['500', http(500), true],
    ['502', http(502), true],
    ['503', http(503), true],
    ['504', http(504), true],
    ['400', http(400), false],
    ['401', http(401), false],
    ['403', http(403), false],
    ['404', http(404), false],
    ['409', http(409), false],
    ['413', http(413), false],
    ['501', http(501), false],
    ['507 disk full', http(507), false],
    ['the file changed', new FileChangedError('x'), false],
    ['cancelled', new CancelledError(), false],
    ['a plain bug', new TypeError('x'), false],
  ] as const)('%s -> %s', (_name, err, expected) => {
    expect(isRetryable(err)).toBe(expected);
  });
});

describe('backoffDelay', () => {
  it.each([
    // attempt, random, expected: half the step fixed, half jittered
    [1, 0, 500],
    [1, 1, 1000],
    [2, 0.5, 1500],
    [3, 0, 2000],
    [4, 1, 8000],
    [5, 1, 8000],
    [50, 0, 4000],
  ])('attempt %i with random %f -> %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, policy, () => random)).toBe(expected);
  });

  it('honours Retry-After, bounded by maxMs', () => {
    expect(retryDelay(http(429, 3), 1, policy, () => 0)).toBe(3000);
    expect(retryDelay(http(503, 3600), 1, policy, () => 0)).toBe(8000);
    expect(retryDelay(http(503), 1, policy, () => 0)).toBe(500);
  });
});

describe('withRetry', () => {
  it('retries network errors and 5xx, then succeeds', async () => {
    const clock = fakeClock();
    const errors = [new NetworkError('reset', 'ECONNRESET'), http(503)];
    const seen: number[] = [];
    const v = await withRetry(
      async (attempt) => {
        seen.push(attempt);
        const e = errors.shift();
        if (e) throw e;
        return 'ok';
      },
      { policy, clock, random: () => 0, onRetry: () => undefined },
    );
    expect(v).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
    expect(clock.slept).toEqual([500, 1000]);
  });

  it('gives up after the attempts, with the last error', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new NetworkError('refused', 'ECONNREFUSED');
        },
        { policy, clock, random: () => 1 },
      ),
    ).rejects.toThrow(NetworkError);
    expect(calls).toBe(5);
    expect(clock.slept).toEqual([1000, 2000, 4000, 8000]);
  });

  it('starts counting afresh while the work makes progress between failures', async () => {
    const clock = fakeClock();
    let calls = 0;
    // Fails 8 times (more than the 5 attempts) but advances on each of the first 6.
    const v = await withRetry(
      async () => {
        calls++;
        if (calls <= 8) throw new NetworkError('reset', 'ECONNRESET');
        return calls;
      },
      { policy, clock, random: () => 0, progressed: () => calls <= 6 },
    );
    expect(v).toBe(9);
    expect(clock.slept).toEqual([500, 500, 500, 500, 500, 500, 1000, 2000]);
    // Without progress the same failures give up after 5 tries.
    calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new NetworkError('reset', 'ECONNRESET');
        },
        { policy, clock, progressed: () => false },
      ),
    ).rejects.toThrow(NetworkError);
    expect(calls).toBe(5);
  });

  it('does not retry a 4xx', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw http(400);
        },
        { policy, clock: fakeClock() },
      ),
    ).rejects.toThrow(HttpStatusError);
    expect(calls).toBe(1);
  });

  it('stops waiting when cancelled', async () => {
    const ac = new AbortController();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          ac.abort();
          throw http(503);
        },
        { policy: { ...policy, attempts: Infinity }, clock: fakeClock(), signal: ac.signal },
      ),
    ).rejects.toThrow();
    expect(calls).toBe(1);
  });
});
