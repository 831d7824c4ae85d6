/**
 * Deterministic test inputs and the tolerance check shared by the addon tests: random x, random
 * finite weights in each storage format, and a comparison against the plain-loop oracle whose
 * bound scales with Σ|x·w| (what float32 accumulation error actually depends on).
 */

import type { WeightArray, WeightDtype } from './kernels-addon.ts';
import { createPlainMatmul } from './plain-matmul.ts';

/** mulberry32: a tiny seeded PRNG, so a failing case reproduces exactly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomX(rand: () => number, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rand() * 2 - 1;
  return x;
}

/**
 * Random finite weights: F32 in [-1, 1); BF16 with exponents 2^-27..2^23 (wide, never inf);
 * F16 with every finite pattern possible, subnormals and ±0 included.
 */
export function randomW(rand: () => number, dtype: WeightDtype, n: number): WeightArray {
  if (dtype === 'F32') return randomX(rand, n);
  const w = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const sign = rand() < 0.5 ? 0x8000 : 0;
    if (dtype === 'BF16') {
      const exp = 100 + Math.floor(rand() * 51);
      w[i] = sign | (exp << 7) | Math.floor(rand() * 128);
    } else {
      const exp = Math.floor(rand() * 31);
      w[i] = sign | (exp << 10) | Math.floor(rand() * 1024);
    }
  }
  return w;
}

function absW(w: WeightArray): WeightArray {
  return w instanceof Float32Array ? w.map(Math.abs) : w.map((h) => h & 0x7fff);
}

export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
  tolerance: number;
}

/**
 * Compares y against the float64 plain-loop result; returns the first element outside
 * 5e-7·√in·Σ|x·w| (≈8 float32 roundings per √n terms), or null. A single dropped or doubled
 * product is ~Σ|x·w|/in, far outside that bound for every size the tests use.
 */
export function firstMismatch(
  y: Float32Array,
  x: Float32Array,
  w: WeightArray,
  dtype: WeightDtype,
  rows: number,
  inDim: number,
  outDim: number,
): Mismatch | null {
  const plain = createPlainMatmul();
  const expected = new Float32Array(rows * outDim);
  const bound = new Float32Array(rows * outDim);
  plain(expected, x, w, dtype, rows, inDim, outDim);
  plain(bound, x.map(Math.abs), absW(w), dtype, rows, inDim, outDim);
  for (let i = 0; i < rows * outDim; i++) {
    const tolerance = 5e-7 * Math.sqrt(inDim) * bound[i]! + 1e-30;
    if (!(Math.abs(y[i]! - expected[i]!) <= tolerance)) return { index: i, actual: y[i]!, expected: expected[i]!, tolerance };
  }
  return null;
}
