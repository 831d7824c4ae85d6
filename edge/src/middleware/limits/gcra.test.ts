import { describe, expect, it } from 'vitest';
import { type GcraState, gcraAdjust, gcraCharge, gcraTake } from './gcra.ts';
import { formatDuration } from './limits.ts';

const rule = { limit: 4, periodMs: 60_000 }; // one unit per 15 s, bursts of 4

describe('gcra', () => {
  it('allows a burst of `limit`, then refills one unit per interval', () => {
    let s: GcraState | undefined;
    const t0 = 1_000_000;
    const remaining: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = gcraTake(s, t0, 1, rule);
      expect(r.allowed).toBe(true);
      remaining.push(r.remaining);
      s = r.state;
    }
    expect(remaining).toEqual([3, 2, 1, 0]);
    const denied = gcraTake(s, t0, 1, rule);
    expect(denied).toMatchObject({ allowed: false, retryAfterMs: 15_000, resetMs: 60_000 });
    expect(denied.state).toEqual(s);
    expect(gcraTake(s, t0 + 14_999, 1, rule).allowed).toBe(false);
    expect(gcraTake(s, t0 + 15_000, 1, rule)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('charging past the limit creates a debt that must drain first', () => {
    const t0 = 0;
    const s = gcraCharge(undefined, t0, 10, rule); // 10 units on a 4-per-minute rule
    expect(gcraTake(s, t0, 1, rule).allowed).toBe(false);
    // Debt of 6 units beyond the period: 6 × 15 s + one unit.
    expect(gcraTake(s, t0, 1, rule).retryAfterMs).toBe(105_000);
    expect(gcraTake(s, t0 + 105_000, 1, rule).allowed).toBe(true);
  });

  it('a sub-millisecond remainder does not refuse a whole-bucket take', () => {
    const s = gcraCharge(undefined, 0, 8, { limit: 10_000_000, periodMs: 60_000 }); // 0.048 ms ahead
    expect(gcraTake(s, 0, 4, rule).allowed).toBe(true);
    expect(gcraTake({ tat: 1 }, 0, 4, rule).allowed).toBe(false);
  });

  it('adjusting refunds unused units but never fills past full', () => {
    const taken = gcraTake(undefined, 0, 4, rule).state; // bucket empty
    expect(gcraTake(taken, 0, 1, rule).allowed).toBe(false);
    const refunded = gcraAdjust(taken, 0, -2, rule);
    expect(gcraTake(refunded, 0, 2, rule)).toMatchObject({ allowed: true, remaining: 0 });
    expect(gcraAdjust(taken, 0, -100, rule)).toEqual({ tat: 0 });
    expect(gcraAdjust(undefined, 0, 6, rule)).toEqual(gcraCharge(undefined, 0, 6, rule));
  });
});

it.each([
  [0, '0ms'],
  [20, '20ms'],
  [1500, '1.5s'],
  [60_000, '1m0s'],
  [119_999, '1m59s'],
  [360_000, '6m0s'],
])('formatDuration(%i) = %s', (ms, text) => {
  expect(formatDuration(ms)).toBe(text);
});
