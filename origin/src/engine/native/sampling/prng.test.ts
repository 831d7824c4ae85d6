import { describe, expect, it } from 'vitest';
import { createPrng } from './prng.ts';

const draw = (seed: number | undefined, n = 8) => {
  const r = createPrng(seed);
  return Array.from({ length: n }, () => r.next());
};

describe('createPrng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(-1)).not.toEqual(draw(0xffffffff)); // high bits matter
    expect(draw(2 ** 40)).not.toEqual(draw(0));
  });

  it('is random without a seed', () => {
    expect(draw(undefined)).not.toEqual(draw(undefined));
  });

  it('yields floats in [0, 1) with a sane mean', () => {
    const xs = draw(7, 20_000);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  });

  it('rejects non-integer seeds', () => {
    expect(() => createPrng(1.5)).toThrow(RangeError);
  });
});
