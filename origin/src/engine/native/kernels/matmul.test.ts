import { describe, expect, it } from 'vitest';
import type { WeightMatrix } from './dtype.ts';
import { f32ArrayToBf16, f32ArrayToF16, storedToF32 } from './dtype.ts';
import { createJsKernel, kernelFromMatmul } from './matmul.ts';

// Small deterministic PRNG (mulberry32) so failures reproduce.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}
function randomF32(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 4);
}

// float64 reference: y = x · Wᵀ.
function reference(x: Float32Array, rows: number, w: Float32Array, out: number, cols: number): Float64Array {
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = 0;
      for (let i = 0; i < cols; i++) s += x[r * cols + i]! * w[o * cols + i]!;
      y[r * out + o] = s;
    }
  }
  return y;
}

function maxRelErr(got: Float32Array, want: Float64Array): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  return m;
}

const shapes = [
  [1, 7, 13],
  [3, 16, 64],
  [5, 33, 130],
  [2, 64, 1],
] as const;

describe('JS matmul kernel', () => {
  it.each(shapes)('F32: rows=%i out=%i in=%i matches a float64 reference', (rows, out, cols) => {
    const x = randomF32(rows * cols, 1);
    const w = randomF32(out * cols, 2);
    const y = new Float32Array(rows * out);
    createJsKernel({ maxCols: 8 }).matmul(y, x, rows, { dtype: 'F32', data: w, rows: out, cols });
    expect(maxRelErr(y, reference(x, rows, w, out, cols))).toBeLessThan(1e-6);
  });

  it.each(
    shapes.flatMap(
      (s) =>
        [
          ['BF16', ...s],
          ['F16', ...s],
        ] as const,
    ),
  )('%s: rows=%i out=%i in=%i equals F32 on the widened weights', (dtype, rows, out, cols) => {
    const x = randomF32(rows * cols, 3);
    const src = randomF32(out * cols, 4);
    const bits = dtype === 'BF16' ? f32ArrayToBf16(src) : f32ArrayToF16(src);
    const w16: WeightMatrix = { dtype, data: bits, rows: out, cols };
    const w32 = storedToF32({ dtype, data: bits });
    const kernel = createJsKernel({ maxCols: 16 });
    const y16 = new Float32Array(rows * out);
    const y32 = new Float32Array(rows * out);
    kernel.matmul(y16, x, rows, w16);
    kernel.matmul(y32, x, rows, { dtype: 'F32', data: w32, rows: out, cols });
    expect([...y16]).toEqual([...y32]);
    // And the 16-bit weights really are approximations of the f32 ones.
    expect(maxRelErr(y16, reference(x, rows, src, out, cols))).toBeLessThan(dtype === 'BF16' ? 0.1 : 0.02);
  });

  it('reads each output only from its own rows (batched rows equal one-by-one rows)', () => {
    const [rows, out, cols] = [4, 9, 21];
    const x = randomF32(rows * cols, 5);
    const w: WeightMatrix = { dtype: 'BF16', data: f32ArrayToBf16(randomF32(out * cols, 6)), rows: out, cols };
    const k = createJsKernel();
    const all = new Float32Array(rows * out);
    k.matmul(all, x, rows, w);
    for (let r = 0; r < rows; r++) {
      const one = new Float32Array(out);
      k.matmul(one, x.slice(r * cols, (r + 1) * cols), 1, w);
      expect([...one]).toEqual([...all.subarray(r * out, (r + 1) * out)]);
    }
  });

  it.each(['F32', 'BF16', 'F16'] as const)('readRow widens one %s row at an offset', (dtype) => {
    const src = Float32Array.of(1, 2, 3, 4, -0.5, 0.25);
    const data = dtype === 'F32' ? src : dtype === 'BF16' ? f32ArrayToBf16(src) : f32ArrayToF16(src);
    const w = { dtype, data, rows: 2, cols: 3 } as WeightMatrix;
    const dst = new Float32Array(5);
    createJsKernel().readRow(w, 1, dst, 2);
    expect([...dst]).toEqual([0, 0, 4, -0.5, 0.25]);
    expect(() => createJsKernel().readRow(w, 2, dst, 0)).toThrow(RangeError);
  });

  it('rejects buffers that are too small and bad options', () => {
    const w: WeightMatrix = { dtype: 'F32', data: new Float32Array(6), rows: 2, cols: 3 };
    expect(() => createJsKernel().matmul(new Float32Array(3), new Float32Array(6), 2, w)).toThrow(RangeError);
    expect(() => createJsKernel({ maxCols: 0 })).toThrow(RangeError);
  });
});

describe('kernelFromMatmul', () => {
  it('passes the matrix as raw arrays with in/out dimensions', () => {
    const calls: unknown[][] = [];
    const k = createJsKernel();
    const wrapped = kernelFromMatmul('spy', (y, x, w, dtype, rows, inDim, outDim) => {
      calls.push([dtype, rows, inDim, outDim, w.length]);
      k.matmul(y, x, rows, { dtype: 'F32', data: w as Float32Array, rows: outDim, cols: inDim });
    });
    const w: WeightMatrix = { dtype: 'F32', data: Float32Array.of(1, 2, 3, 4, 5, 6), rows: 2, cols: 3 };
    const y = new Float32Array(2);
    wrapped.matmul(y, Float32Array.of(1, 1, 1), 1, w);
    expect([...y]).toEqual([6, 15]);
    expect(calls).toEqual([['F32', 1, 3, 2, 6]]);
    const row = new Float32Array(3);
    wrapped.readRow(w, 1, row, 0);
    expect([...row]).toEqual([4, 5, 6]);
    expect(wrapped.name).toBe('spy');
  });
});
