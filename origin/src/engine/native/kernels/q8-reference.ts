/**
 * The scalar reference of the Q8_0 product for tests (JS kernel here, the addon's paths in
 * adapters/node/engine/kernels-addon/q8.test.ts): W and the per-block quantised x dequantised to
 * doubles and multiplied in float64, written independently of the kernels' integer blocks.
 */
import type { WeightMatrix } from './dtype.ts';
import { f16ToF32, Q8_BLOCK, Q8_BLOCK_BYTES } from './dtype.ts';
import { quantizeQ8Blocks } from './q8.ts';

/** Every weight of a Q8_0 matrix as d·q, row-major. */
export function dequantizeQ8(w: WeightMatrix): Float64Array {
  if (w.dtype !== 'Q8_0') throw new TypeError('dequantizeQ8 takes a Q8_0 matrix');
  const out = new Float64Array(w.rows * w.cols);
  const q = new Int8Array(w.data.buffer, w.data.byteOffset, w.data.length);
  for (let b = 0; b < out.length / Q8_BLOCK; b++) {
    const at = b * Q8_BLOCK_BYTES;
    const d = f16ToF32(w.data[at]! | (w.data[at + 1]! << 8));
    for (let k = 0; k < Q8_BLOCK; k++) out[b * Q8_BLOCK + k] = d * q[at + 2 + k]!;
  }
  return out;
}

/**
 * y = x̂·Ŵᵀ in float64, x̂ = x quantised per block as the kernels do; `abs` = Σ|x̂·ŵ| per output,
 * the scale of the float32 rounding a kernel may add.
 */
export function q8Reference(x: Float32Array, rows: number, w: WeightMatrix): { y: Float64Array; abs: Float64Array } {
  const n = w.cols;
  const xq = new Int8Array(rows * n);
  const xd = new Float32Array((rows * n) / Q8_BLOCK);
  quantizeQ8Blocks(x, rows * n, xq, xd);
  const wd = dequantizeQ8(w);
  const y = new Float64Array(rows * w.rows);
  const abs = new Float64Array(rows * w.rows);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < w.rows; o++) {
      let s = 0;
      let a = 0;
      for (let k = 0; k < n; k++) {
        const p = xd[(r * n + k) >> 5]! * xq[r * n + k]! * wd[o * n + k]!;
        s += p;
        a += Math.abs(p);
      }
      y[r * w.rows + o] = s;
      abs[r * w.rows + o] = a;
    }
  }
  return { y, abs };
}
