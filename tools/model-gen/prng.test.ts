import { describe, expect, it } from 'vitest';
import { buildNormalTable, NORMAL_TABLE_SIZE, normalQuantile } from './normal-table.ts';
import { fillU32, streamState } from './prng.ts';

// Independent, deliberately plain xoshiro128** (BigInt arithmetic) to check the fast version.
function referenceXoshiro(state: bigint[], n: number): number[] {
  const M = 0xffffffffn;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  const s = [...state];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number((rotl((s[1]! * 5n) & M, 7n) * 9n) & M));
    const t = (s[1]! << 9n) & M;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11n);
  }
  return out;
}

describe('xoshiro128**', () => {
  it('matches a plain reference implementation, across split calls', () => {
    const state = streamState(42, 'model.layers.0.mlp.up_proj.weight');
    const ref = referenceXoshiro([...state].map(BigInt), 1000);
    const out = new Uint32Array(1000);
    fillU32(state, out, 0, 300);
    fillU32(state, out, 300, 1000);
    expect([...out]).toEqual(ref);
  });

  it('first output from state [1, 2, 3, 4] is rotl(2·5, 7)·9', () => {
    const out = new Uint32Array(1);
    fillU32(new Uint32Array([1, 2, 3, 4]), out);
    expect(out[0]).toBe(11520);
  });

  it('gives unrelated streams for different names and seeds, equal ones for equal inputs', () => {
    const first = (seed: number, name: string) => {
      const o = new Uint32Array(4);
      fillU32(streamState(seed, name), o);
      return [...o];
    };
    expect(first(1, 'a')).toEqual(first(1, 'a'));
    expect(first(1, 'a')).not.toEqual(first(1, 'b'));
    expect(first(1, 'a')).not.toEqual(first(2, 'a'));
    expect(first(1, 'a')).not.toEqual(first(1 + 2 ** 32, 'a'));
  });

  it('rejects negative or fractional seeds', () => {
    expect(() => streamState(-1, 'x')).toThrow(RangeError);
    expect(() => streamState(1.5, 'x')).toThrow(RangeError);
  });

  it('produces roughly uniform 16-bit halves', () => {
    const out = new Uint32Array(1 << 16);
    fillU32(streamState(7, 'u'), out);
    const buckets = new Array(16).fill(0);
    for (const r of out) {
      buckets[(r & 0xffff) >>> 12]++;
      buckets[r >>> 28]++;
    }
    const expected = (2 * out.length) / 16;
    for (const b of buckets) expect(Math.abs(b - expected) / expected).toBeLessThan(0.05);
  });
});

describe('normal quantile table', () => {
  it('inverts the normal CDF at known points', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.8413447460685429)).toBeCloseTo(1, 6);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
    expect(() => normalQuantile(0)).toThrow(RangeError);
  });

  it('is increasing, symmetric, zero-mean and unit-variance', () => {
    const t = buildNormalTable();
    expect(t.length).toBe(NORMAL_TABLE_SIZE);
    let sum = 0;
    let sq = 0;
    let withinOne = 0;
    let bad = 0;
    for (let i = 0; i < t.length; i++) {
      if (i > 0 && !(t[i]! > t[i - 1]!)) bad++;
      if (t[i] !== -t[t.length - 1 - i]!) bad++;
      sum += t[i]!;
      sq += t[i]! ** 2;
      if (Math.abs(t[i]!) < 1) withinOne++;
    }
    expect(bad).toBe(0);
    expect(Math.abs(sum)).toBeLessThan(1e-9);
    expect(sq / t.length).toBeCloseTo(1, 12);
    expect(withinOne / t.length).toBeCloseTo(0.6827, 2);
  });
});
