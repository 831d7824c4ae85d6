import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { JS_NORMS } from '../../../../engine/native/forward/norms.ts';
import { type KernelsAddonOptions, loadKernelsAddon } from './kernels-addon.ts';
import { randomX, rng } from './test-data.ts';

// The native row norms against the JavaScript reference (forward/norms.ts): widths off the
// 4-wide SIMD step (scalar tails), one row (no threads) and many (split over the pool), in place,
// both SIMD paths. Sums are double in both; the native ones add four lanes apart, so a result
// may differ from JS by one f32 rounding.
const path = process.env.MOTIF_KERNELS_ADDON_PATH;
const addon = loadKernelsAddon({ path }, () => undefined);
const VARIANTS: [string, KernelsAddonOptions][] = addon?.norms
  ? [
      ['widest SIMD, all threads', {}],
      ['widest SIMD, 1 thread', { maxThreads: 1 }],
      ['portable C++', { simd: 'scalar' }],
    ]
  : [];
const SHAPES: [rows: number, width: number][] = [
  [1, 4],
  [1, 7],
  [3, 2048],
  [17, 130],
  [64, 8192],
];

function expectNear(got: Float32Array, want: Float32Array): void {
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const tolerance = 2 ** -22 * Math.abs(w) + 1e-30;
    if (!(Math.abs(got[i]! - w) <= tolerance)) expect.fail(`[${i}] = ${got[i]}, JS ${w}`);
  }
}

describe.skipIf(VARIANTS.length === 0)('kernels addon, row norms', () => {
  describe.each(VARIANTS)('%s', (_name, opts) => {
    const norms = loadKernelsAddon({ ...opts, path }, () => undefined)!.norms!;

    it.each(SHAPES)('RMSNorm of %i rows × %i matches JS, apart and in place', (rows, width) => {
      const rand = rng(rows * 31 + width);
      const src = randomX(rand, rows * width).map((v) => 4 * v);
      const gain = randomX(rand, width);
      const want = new Float32Array(rows * width);
      JS_NORMS.rmsNormRows(want, src, rows, width, gain, 1e-6);
      const got = new Float32Array(rows * width);
      norms.rmsNormRows(got, src, rows, width, gain, 1e-6);
      expectNear(got, want);
      const inPlace = src.slice();
      norms.rmsNormRows(inPlace, inPlace, rows, width, gain, 1e-6);
      expectNear(inPlace, want);
    });

    it.each(SHAPES)('PolyNorm ⊙ up of %i rows × %i matches JS', (rows, width) => {
      const rand = rng(rows * 17 + width);
      const gateUp = randomX(rand, 2 * rows * width).map((v) => 3 * v);
      const weight = Float32Array.of(0.31, -0.52, 1.13);
      const want = new Float32Array(rows * width);
      JS_NORMS.polyNormGateFused(want, gateUp, rows, width, weight, 0.07, 1e-6);
      const got = new Float32Array(rows * width);
      norms.polyNormGateFused(got, gateUp, rows, width, weight, 0.07, 1e-6);
      expectNear(got, want);
    });

    it('refuses a short buffer, a shifted overlap and a short weight with an error naming them', () => {
      const x = new Float32Array(64);
      const gain = new Float32Array(16);
      expect(() => norms.rmsNormRows(new Float32Array(8), x, 4, 16, gain, 1e-6)).toThrow(/dst holds 8 floats, 64 needed/);
      expect(() => norms.rmsNormRows(x.subarray(1), x, 2, 16, gain, 1e-6)).toThrow(/dst must be src itself or apart/);
      expect(() => norms.rmsNormRows(x, x, 4, 16, new Float32Array(3), 1e-6)).toThrow(/gain holds 3 floats/);
      expect(() => norms.polyNormGateFused(new Float32Array(32), x, 2, 16, new Float32Array(2), 0, 1e-6)).toThrow(/weight holds 2 floats/);
      expect(() => norms.polyNormGateFused(x.subarray(0, 32), x, 2, 16, new Float32Array(3), 0, 1e-6)).toThrow(/must not share memory/);
      try {
        norms.rmsNormRows(x, x, 5, 16, gain, 1e-6);
        expect.fail('no error');
      } catch (err) {
        expect(err).toBeInstanceOf(ApiError);
        expect((err as ApiError).code).toBe('internal_error');
      }
    });
  });
});
