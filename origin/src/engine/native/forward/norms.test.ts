import { describe, expect, it } from 'vitest';
import { polyNormGateRows, rmsNormRows } from './norms.ts';

describe('PolyNorm', () => {
  it('matches the SPEC §6 fixture (w₀ with the cube, w₂ with the identity)', () => {
    const z = Float32Array.of(-1.5, -0.5, 0, 0.5, 1, 2);
    polyNormGateRows(z, null, 2, 3, Float32Array.of(0.2, 0.3, 0.5), 0.125, 1e-6);
    const want = [-0.5263191243230241, -0.10430044066400287, 0.125, 0.3508009408581749, 0.6717202624593248, 1.7277992321668438];
    want.forEach((v, i) => expect(z[i]).toBeCloseTo(v, 6));
  });

  it('multiplies by the up branch', () => {
    const z = Float32Array.of(-1.5, -0.5, 0);
    polyNormGateRows(z, Float32Array.of(2, -1, 3), 1, 3, Float32Array.of(0.2, 0.3, 0.5), 0.125, 1e-6);
    expect(z[0]).toBeCloseTo(-0.5263191243230241 * 2, 6);
    expect(z[1]).toBeCloseTo(0.10430044066400287, 6);
    expect(z[2]).toBeCloseTo(0.375, 6);
  });
});

describe('RMSNorm', () => {
  it('matches a hand computation per row', () => {
    // Row [3, 4]: mean square 12.5; row [1, 1]: 1.
    const x = Float32Array.of(3, 4, 1, 1);
    const y = new Float32Array(4);
    rmsNormRows(y, x, 2, 2, Float32Array.of(1, 2), 0.5);
    const s1 = 1 / Math.sqrt(12.5 + 0.5);
    const s2 = 1 / Math.sqrt(1.5);
    [3 * s1, 8 * s1, s2, 2 * s2].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 6));
  });

  it('works in place', () => {
    const x = Float32Array.of(2, -2);
    rmsNormRows(x, x, 1, 2, Float32Array.of(1, 1), 0);
    expect([...x]).toEqual([1, -1]);
  });
});
