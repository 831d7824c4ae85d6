/**
 * The addon's Q8_0 product (AVX2 integer dots, the portable C++ path, one and all threads, sync
 * and async) against the float64 scalar reference and the engine's JS kernel, on shapes off every
 * tile: rows off the 4-row tile, odd block counts, outputs off the 4-output block, and enough work
 * to split across threads. Plus the argument checks that keep bad Q8_0 input out of the kernel.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { f32ArrayToBf16, f32ArrayToF16, type WeightMatrix } from '../../../../engine/native/kernels/dtype.ts';
import { createJsKernel } from '../../../../engine/native/kernels/matmul.ts';
import { quantizeQ8 } from '../../../../engine/native/kernels/q8.ts';
import { q8Reference } from '../../../../engine/native/kernels/q8-reference.ts';
import { type KernelsAddonOptions, loadKernelsAddon } from './kernels-addon.ts';
import { randomX, rng } from './test-data.ts';

const path = process.env.MOTIF_KERNELS_ADDON_PATH;
const addon = loadKernelsAddon({ path }, () => {});

const SHAPES: [rows: number, inDim: number, outDim: number][] = [
  [1, 32, 1],
  [1, 96, 7],
  [2, 160, 13],
  [3, 64, 5],
  [5, 2080, 9],
  [17, 288, 33],
  [1, 4096, 67],
];
const VARIANTS: [string, KernelsAddonOptions][] = [
  ['widest SIMD, all threads', {}],
  ['widest SIMD, 1 thread', { maxThreads: 1 }],
  ['avx2', { simd: 'avx2' }],
  ['portable C++', { simd: 'scalar' }],
];

function q8Case(rows: number, inDim: number, outDim: number) {
  const rand = rng(rows * 7919 + inDim * 31 + outDim);
  const wf = randomX(rand, outDim * inDim).map((v) => v * 0.05);
  const w = quantizeQ8({ dtype: 'F32', data: wf, rows: outDim, cols: inDim });
  const x = randomX(rand, rows * inDim);
  return { w, x, ref: q8Reference(x, rows, w) };
}

// Integer block dots are exact; only the float sums of per-block products round.
function expectClose(y: Float32Array, ref: { y: Float64Array; abs: Float64Array }): void {
  for (let i = 0; i < y.length; i++) {
    const tolerance = 2e-6 * ref.abs[i]! + 1e-30;
    if (!(Math.abs(y[i]! - ref.y[i]!) <= tolerance)) expect.fail(`y[${i}] = ${y[i]}, reference ${ref.y[i]} (tolerance ${tolerance})`);
  }
}

describe.skipIf(!addon)('kernels addon, Q8_0 weights', () => {
  describe.each(VARIANTS)('%s', (_name, opts) => {
    const k = loadKernelsAddon({ ...opts, path })!;
    it.each(SHAPES)('rows %i, in %i, out %i match the scalar reference (sync and async)', async (rows, inDim, outDim) => {
      const { w, x, ref } = q8Case(rows, inDim, outDim);
      const y = new Float32Array(rows * outDim);
      k.matmul(y, x, w.data, 'Q8_0', rows, inDim, outDim);
      expectClose(y, ref);
      const ya = new Float32Array(rows * outDim);
      await k.matmulAsync(ya, x, w.data, 'Q8_0', rows, inDim, outDim);
      expectClose(ya, ref);
    });
  });

  it('agrees with the JS kernel and between its SIMD and portable paths', () => {
    const js = createJsKernel();
    const simd = loadKernelsAddon({ path })!;
    const portable = loadKernelsAddon({ path, simd: 'scalar' })!;
    for (const [rows, inDim, outDim] of SHAPES) {
      const { w, x, ref } = q8Case(rows, inDim, outDim);
      const ys = [new Float32Array(rows * outDim), new Float32Array(rows * outDim), new Float32Array(rows * outDim)];
      js.matmul(ys[0]!, x, rows, w);
      simd.matmul(ys[1]!, x, w.data, 'Q8_0', rows, inDim, outDim);
      portable.matmul(ys[2]!, x, w.data, 'Q8_0', rows, inDim, outDim);
      for (let i = 0; i < rows * outDim; i++) {
        const tolerance = 4e-6 * ref.abs[i]! + 1e-30;
        expect(Math.abs(ys[1]![i]! - ys[0]![i]!)).toBeLessThanOrEqual(tolerance);
        expect(Math.abs(ys[2]![i]! - ys[0]![i]!)).toBeLessThanOrEqual(tolerance);
      }
    }
  });

  it('quantises x as the JS kernel does on every path, halves away from zero included', () => {
    // W = identity, so y[o] = d_w·127 · d_x·q_x[o] exposes each activation's int8 (a step off is
    // a relative change of ≥ 1/127).
    const n = 64;
    const eye = new Float32Array(n * n);
    for (let o = 0; o < n; o++) eye[o * n + o] = 1;
    const w = quantizeQ8({ dtype: 'F32', data: eye, rows: n, cols: n });
    const x = Float32Array.from({ length: n }, (_, k) => {
      if (k % 32 === 0) return 127;
      const half = (k % 16) + 0.5;
      const v = k % 3 === 0 ? Math.fround(half - half * 2 ** -24) : half;
      return k % 2 ? -v : v;
    });
    const expected = new Float32Array(n);
    createJsKernel().matmul(expected, x, 1, w);
    for (const [, opts] of VARIANTS) {
      const y = new Float32Array(n);
      loadKernelsAddon({ ...opts, path })!.matmul(y, x, w.data, 'Q8_0', 1, n, n);
      for (let o = 0; o < n; o++) expect(Math.abs(y[o]! - expected[o]!)).toBeLessThanOrEqual(1e-6 * Math.abs(expected[o]!));
    }
  });

  it.each(['F32', 'BF16', 'F16'] as const)('quantises %s weights to the same bytes as the JS quantiser', (dtype) => {
    const rand = rng(dtype.length);
    const rows = 130;
    const cols = 96;
    // Block scales from f16-subnormal (1e-7) to large (1e3), signs random.
    const f = Float32Array.from({ length: rows * cols }, (_, i) => (rand() * 2 - 1) * 10 ** (-7 + ((i >> 5) % 11)));
    const data = dtype === 'F32' ? f : dtype === 'BF16' ? f32ArrayToBf16(f) : f32ArrayToF16(f);
    const w = { dtype, data, rows, cols } as WeightMatrix;
    const expected = quantizeQ8(w).data;
    for (const k of [addon!, loadKernelsAddon({ path, maxThreads: 1 })!]) {
      expect(k.quantizeQ8).toBeDefined();
      expect(Buffer.from(k.quantizeQ8!(data, dtype, rows, cols)).equals(Buffer.from(expected))).toBe(true);
    }
  });

  it('refuses to quantise what the JS quantiser refuses', () => {
    const q = addon!.quantizeQ8!;
    expect(() => q(new Float32Array(48), 'F32', 1, 48)).toThrow(/multiple of 32, got 48/);
    expect(() => q(new Float32Array(32).fill(1e7), 'F32', 1, 32)).toThrow(/too large for an f16 block scale/);
    expect(() => q(Float32Array.of(Number.NaN, ...new Float32Array(31)), 'F32', 1, 32)).toThrow(/NaN/);
    expect(() => q(new Float32Array(32), 'F32', 2, 32)).toThrow(RangeError);
  });

  it.each([
    ['an inDim off the block size', 1, 48, 2, new Uint8Array(2 * 2 * 34), /inDim must be a multiple of 32 for Q8_0 weights, got 48/],
    ['too few blocks', 1, 64, 2, new Uint8Array(3 * 34), /w holds 102 bytes, outDim\*inDim\/32 blocks of 34 bytes = 136/],
    ['a 16-bit array', 1, 32, 1, new Uint16Array(34), /w must be a Uint8Array \(Q8_0 blocks\)/],
  ])('refuses %s', async (_name, rows, inDim, outDim, w, message) => {
    const x = new Float32Array(rows * inDim);
    const y = new Float32Array(rows * outDim);
    const k = addon!;
    const call = () => k.matmul(y, x, w as Uint8Array, 'Q8_0', rows, inDim, outDim);
    expect(call).toThrow(ApiError);
    expect(call).toThrow(message);
    await expect(k.matmulAsync(y, x, w as Uint8Array, 'Q8_0', rows, inDim, outDim)).rejects.toThrow(message);
  });
});
