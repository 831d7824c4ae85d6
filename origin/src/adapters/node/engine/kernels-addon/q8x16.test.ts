/**
 * Q8_0x16, the addon's regrouping of Q8_0 for AVX-512 VNNI (native-kernels/README.md): its packer
 * writes the documented layout byte for byte, and the product over it (the VNNI path where the CPU
 * has it, the portable C++ path on every CPU) matches the float64 Q8_0 reference on shapes with 1
 * to 33 rows of x, several groups of 16 outputs and K past one 2048-element row chunk. Plus the
 * argument checks.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { quantizeQ8 } from '../../../../engine/native/kernels/q8.ts';
import { q8Reference } from '../../../../engine/native/kernels/q8-reference.ts';
import { type KernelsAddonOptions, loadKernelsAddon } from './kernels-addon.ts';
import { randomX, rng } from './test-data.ts';

const path = process.env.MOTIF_KERNELS_ADDON_PATH;
const addon = loadKernelsAddon({ path }, () => {});

const SHAPES: [rows: number, inDim: number, outDim: number][] = [
  [1, 32, 16],
  [1, 4096, 48],
  [2, 160, 32],
  [3, 64, 16],
  [5, 2080, 32],
  [17, 288, 64],
  [33, 96, 16],
];

// The layout spelled out (the test's own reference): per group of 16 rows and block of 32 K, the
// 16 f16 scales, then byte 32 + 64·j + 4·n + i = row n's weight 4j + i plus 128.
function packReference(q8: Uint8Array, rows: number, cols: number): Uint8Array {
  const nb = cols / 32;
  const out = new Uint8Array(q8.length);
  for (let g = 0; g < rows / 16; g++) {
    for (let b = 0; b < nb; b++) {
      const dst = (g * nb + b) * 544;
      for (let n = 0; n < 16; n++) {
        const src = ((g * 16 + n) * nb + b) * 34;
        out[dst + 2 * n] = q8[src]!;
        out[dst + 2 * n + 1] = q8[src + 1]!;
        for (let k = 0; k < 32; k++) out[dst + 32 + 64 * (k >> 2) + 4 * n + (k & 3)] = q8[src + 2 + k]! ^ 0x80;
      }
    }
  }
  return out;
}

function q8Case(rows: number, inDim: number, outDim: number) {
  const rand = rng(rows * 7919 + inDim * 31 + outDim);
  const w = quantizeQ8({ dtype: 'F32', data: randomX(rand, outDim * inDim).map((v) => v * 0.05), rows: outDim, cols: inDim });
  if (w.dtype !== 'Q8_0') throw new TypeError('expected Q8_0');
  const x = randomX(rand, rows * inDim);
  return { q8: w.data, packed: packReference(w.data, outDim, inDim), x, ref: q8Reference(x, rows, w) };
}

// Integer block dots are exact; only the float sums of per-block products round.
function expectClose(y: Float32Array, ref: { y: Float64Array; abs: Float64Array }): void {
  for (let i = 0; i < y.length; i++) {
    const tolerance = 2e-6 * ref.abs[i]! + 1e-30;
    if (!(Math.abs(y[i]! - ref.y[i]!) <= tolerance)) expect.fail(`y[${i}] = ${y[i]}, reference ${ref.y[i]} (tolerance ${tolerance})`);
  }
}

const VARIANTS: [string, KernelsAddonOptions][] = [
  ['widest SIMD, all threads', {}],
  ['widest SIMD, 1 thread', { maxThreads: 1 }],
  // Below AVX-512 the portable Q8_0x16 slice runs on the AVX2 quantiser's x.
  ['avx2', { simd: 'avx2' }],
  ['portable C++', { simd: 'scalar' }],
];

describe.skipIf(!addon)('kernels addon, Q8_0x16 weights', () => {
  it('packs where its VNNI path runs, into the documented layout', () => {
    const best = loadKernelsAddon({ path })!;
    expect(loadKernelsAddon({ path, simd: 'avx2' })!.packQ8x16).toBeUndefined();
    if (!best.packQ8x16) return; // no AVX-512 VNNI here: the engine keeps Q8_0
    for (const [, inDim, outDim] of SHAPES) {
      const { q8, packed } = q8Case(1, inDim, outDim);
      expect(best.packQ8x16(q8, outDim, inDim)).toEqual(packed);
    }
  });

  describe.each(VARIANTS)('%s', (_name, opts) => {
    const k = loadKernelsAddon({ ...opts, path })!;
    it.each(SHAPES)('rows %i, in %i, out %i match the scalar reference (sync and async)', async (rows, inDim, outDim) => {
      const { packed, x, ref } = q8Case(rows, inDim, outDim);
      const y = new Float32Array(rows * outDim);
      k.matmul(y, x, packed, 'Q8_0x16', rows, inDim, outDim);
      expectClose(y, ref);
      const ya = new Float32Array(rows * outDim);
      await k.matmulAsync(ya, x, packed, 'Q8_0x16', rows, inDim, outDim);
      expectClose(ya, ref);
    });
  });

  it('refuses shapes off the 16-row groups', () => {
    const k = loadKernelsAddon({ path })!;
    const x = new Float32Array(32);
    expect(() => k.matmul(new Float32Array(8), x, new Uint8Array(8 * 34), 'Q8_0x16', 1, 32, 8)).toThrow(ApiError);
    expect(() => k.matmul(new Float32Array(8), x, new Uint8Array(8 * 34), 'Q8_0x16', 1, 32, 8)).toThrow(/multiple of 16 for Q8_0x16/);
    expect(() => k.matmul(new Float32Array(16), x, new Uint8Array(15 * 34), 'Q8_0x16', 1, 32, 16)).toThrow(/bytes/);
    if (k.packQ8x16) {
      expect(() => k.packQ8x16!(new Uint8Array(8 * 34), 8, 32)).toThrow(/multiple of 16/);
      expect(() => k.packQ8x16!(new Uint8Array(16 * 34), 16, 48)).toThrow(RangeError);
    }
  });
});
