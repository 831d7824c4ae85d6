import { describe, expect, it } from 'vitest';
import { lambdaFull, lambdaInit } from './lambda.ts';

describe('λ', () => {
  it.each([
    [0, -0.009915284545601866],
    [1, 0.2],
    [2, 0.35550906759096934],
    [3, 0.470713],
    [31, 0.799926],
  ])('λ_init(layer %i) = %f (0-based with the −1 offset)', (layer, want) => {
    expect(lambdaInit(layer)).toBeCloseTo(want, 6);
  });

  it('λ = exp(q1·k1) − exp(q2·k2) + λ_init', () => {
    const q1 = Float32Array.of(0.5, 1);
    const k1 = Float32Array.of(2, -1); // q1·k1 = 0
    const q2 = Float32Array.of(1, 1);
    const k2 = Float32Array.of(0.25, 0.5); // q2·k2 = 0.75
    expect(lambdaFull(2, q1, k1, q2, k2)).toBeCloseTo(1 - Math.exp(0.75) + lambdaInit(2), 12);
    expect(() => lambdaFull(0, q1, Float32Array.of(1), q2, k2)).toThrow(RangeError);
  });
});
