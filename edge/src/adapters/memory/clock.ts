/**
 * Clocks: the system clock for real runs, a manual one for tests of time-dependent behaviour
 * (heartbeat expiry, rate-limit refill) without sleeping.
 */
import type { Clock } from '../../ports.ts';

/** Date.now(). */
export function systemClock(): Clock {
  return { now: () => Date.now() };
}

export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

/** A clock that only moves when told to. */
export function manualClock(start: number = Date.now()): ManualClock {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      if (!(ms >= 0)) throw new Error('manualClock: cannot go backwards');
      t += ms;
    },
    set(ms) {
      t = ms;
    },
  };
}
