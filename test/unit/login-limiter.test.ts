import { describe, expect, it } from 'vitest';
import { TooManyRequestsError } from '../../core/errors.js';
import { SlidingLoginLimiter } from '../../storage/clients/login-limiter.js';

function limiter(options: { maxKeys?: number } = {}) {
  const clock = { now: 1_000_000 };
  const l = new SlidingLoginLimiter({ clock: () => clock.now, maxFailures: 3, windowMs: 60_000, ...options });
  return { l, clock };
}

function blocked(l: SlidingLoginLimiter, key: string): number | false {
  try {
    l.check(key);
    return false;
  } catch (err) {
    expect(err).toBeInstanceOf(TooManyRequestsError);
    return (err as TooManyRequestsError).retryAfterSeconds;
  }
}

describe('SlidingLoginLimiter', () => {
  it('blocks after maxFailures within the window, with the seconds until the oldest expires', () => {
    const { l, clock } = limiter();
    l.fail('a');
    clock.now += 10_000;
    l.fail('a');
    expect(blocked(l, 'a')).toBe(false);
    l.fail('a');
    expect(blocked(l, 'a')).toBe(50);
    clock.now += 49_500;
    expect(blocked(l, 'a')).toBe(1);
    clock.now += 500;
    expect(blocked(l, 'a')).toBe(false);
  });

  it('keys are independent', () => {
    const { l } = limiter();
    for (let i = 0; i < 3; i++) l.fail('a');
    expect(blocked(l, 'a')).not.toBe(false);
    expect(blocked(l, 'b')).toBe(false);
  });

  it('successes neither count nor reset a run of failures', () => {
    const { l } = limiter();
    for (let i = 0; i < 1000; i++) l.succeed('a');
    expect(blocked(l, 'a')).toBe(false);
    l.fail('a');
    l.fail('a');
    l.succeed('a');
    l.fail('a');
    expect(blocked(l, 'a')).not.toBe(false);
  });

  it('failures spread out over more than the window never block', () => {
    const { l, clock } = limiter();
    for (let i = 0; i < 20; i++) {
      l.fail('a');
      clock.now += 30_001;
      expect(blocked(l, 'a')).toBe(false);
    }
  });

  it('memory stays bounded: at most maxKeys keys, expired ones forgotten', () => {
    const { l, clock } = limiter({ maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) l.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(l.size).toBe(100);
    // The most recent attackers are the ones remembered.
    for (let i = 0; i < 2; i++) l.fail('10.0.39.15');
    expect(blocked(l, '10.0.39.15')).not.toBe(false);
    clock.now += 61_000;
    expect(blocked(l, '10.0.39.15')).toBe(false);
  });
});
