import type { Clock } from '../../client/clock.js';
import { CancelledError } from '../../client/errors.js';

/** A clock that only moves when slept on: deterministic tests of waits. */
export function fakeClock(start = 0): Clock & { slept: number[]; advance(ms: number): void } {
  let t = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    advance(ms) {
      t += ms;
    },
    async sleep(ms, signal) {
      if (signal?.aborted) throw new CancelledError();
      slept.push(ms);
      t += ms;
    },
  };
}
