import { describe, expect, it } from 'vitest';
import { logitDistance } from './logit-distance.ts';

describe('logitDistance', () => {
  it('is zero for identical rows', () => {
    const a = [Float32Array.of(1, 2, 3), Float32Array.of(0, 0, 5)];
    expect(logitDistance(a, a)).toEqual({ positions: 2, maxAbsLogit: 0, meanKl: 0, maxKl: 0, top1Agreement: 1 });
  });

  it('ignores a shift of all logits (same distribution) but not of the argmax', () => {
    const d = logitDistance([Float32Array.of(1, 2, 3)], [Float32Array.of(11, 12, 13)]);
    expect(d.maxAbsLogit).toBeCloseTo(10, 5);
    expect(d.meanKl).toBeLessThan(1e-6);
    expect(d.top1Agreement).toBe(1);
  });

  it('measures KL(reference ‖ other) and the top-1 agreement', () => {
    const p = Float32Array.of(Math.log(0.5), Math.log(0.5));
    const q = Float32Array.of(Math.log(0.25), Math.log(0.75));
    const d = logitDistance([p, p], [q, p]);
    const kl = 0.5 * Math.log(0.5 / 0.25) + 0.5 * Math.log(0.5 / 0.75);
    expect(d.meanKl).toBeCloseTo(kl / 2, 6);
    expect(d.maxKl).toBeCloseTo(kl, 6);
    expect(d.top1Agreement).toBe(0.5);
    expect(logitDistance([Float32Array.of(1, 0)], [Float32Array.of(0, 1)]).top1Agreement).toBe(0);
  });

  it('refuses rows that do not pair up', () => {
    expect(() => logitDistance([], [])).toThrow(RangeError);
    expect(() => logitDistance([new Float32Array(3)], [new Float32Array(2)])).toThrow(/row 0/);
  });
});
