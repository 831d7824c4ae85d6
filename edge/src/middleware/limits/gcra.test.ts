import { describe, expect, it } from 'vitest';
import { type GcraState, gcraCharge, gcraTake } from './gcra.ts';
import { formatDuration } from './limits.ts';
import { admit, charge, limitRules } from './policy.ts';

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
});

describe('limit policy', () => {
  it.each([
    { name: 'both limits', cfg: { requestsPerMinute: 2, tokensPerMinute: 100 }, admitted: 2 },
    { name: 'requests unlimited', cfg: { requestsPerMinute: 0, tokensPerMinute: 100 }, admitted: 5 },
  ])('$name', ({ cfg, admitted }) => {
    const rules = limitRules(cfg);
    let state = {};
    let ok = 0;
    for (let i = 0; i < 5; i++) {
      const r = admit(state, 0, rules);
      state = r.state;
      if (r.decision.allowed) ok++;
    }
    expect(ok).toBe(admitted);
  });

  it('reports token headroom without the admission probe', () => {
    const rules = limitRules({ requestsPerMinute: 10, tokensPerMinute: 100 });
    const fresh = admit({}, 0, rules).decision;
    expect(fresh.tokens).toEqual({ limit: 100, remaining: 100, resetMs: 0 });
    const used = admit(charge({}, 40, 0, rules), 0, rules).decision;
    expect(used.tokens).toEqual({ limit: 100, remaining: 60, resetMs: 24_000 });
  });

  it('rejects invalid limits at construction', () => {
    expect(() => limitRules({ requestsPerMinute: -1 })).toThrow(/requestsPerMinute/);
    expect(() => limitRules({ tokensPerMinute: Number.NaN })).toThrow(/tokensPerMinute/);
    expect(() => limitRules({ requestsPerMinute: 1.5 })).toThrow(/requestsPerMinute/);
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
