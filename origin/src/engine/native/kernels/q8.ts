/**
 * Q8_0, the 8-bit weight format of the native engine (llama.cpp's block_q8_0 byte for byte): each
 * row of W is cols/32 blocks of 34 bytes, an IEEE half scale d = max|w|/127 then 32 int8
 * q = round(w/d), so w ≈ d·q. About half the bytes of BF16 (1.0625 bytes per weight), which is
 * what batch-1 decode, bound by memory bandwidth, pays for. Made from F32/BF16/F16 weights at
 * load (`quantizeQ8`), never read from a checkpoint.
 *
 * The product quantises x the same way per block (`quantizeQ8Blocks`) so every block's dot
 * product is exact integer arithmetic, as the C++ addon does (origin/native-kernels/src/
 * matmul-q8.cc): the JS kernel, the portable C++ and the AVX2 path differ only in the rounding
 * of the per-block float sums.
 */
import type { StoredData, WeightMatrix } from './dtype.ts';
import { createF16Table, f32ToF16, Q8_BLOCK, Q8_BLOCK_BYTES } from './dtype.ts';

type Q8Matrix = Extract<WeightMatrix, { dtype: 'Q8_0' }>;

// Halves away from zero (C's roundf, what the addon uses; `| 0` truncates toward zero), then
// clamped to the int8 range the integer dot products assume (never −128). |v| ≤ 128 here.
function roundClamp(v: number): number {
  const q = (v < 0 ? v - 0.5 : v + 0.5) | 0;
  if (q > 127) return 127;
  if (q < -127) return -127;
  return q;
}

// max |v| over v[from, to); Math.max/abs compile without branches (random signs mispredict).
function absMax(v: Float32Array, from: number, to: number): number {
  let m = 0;
  for (let k = from; k < to; k++) m = Math.max(m, Math.abs(v[k]!));
  return m;
}

/**
 * W (F32/BF16/F16) → Q8_0, per block of 32: d = max|w|/127 rounded to f16, q = round(w/d).
 * Throws RangeError when the row length is not a multiple of 32 (the blocks run along a row) or a
 * scale does not fit an f16 (|w| > 8.3e6). A Q8_0 matrix is returned as is.
 */
export function quantizeQ8(w: WeightMatrix): WeightMatrix {
  if (w.dtype === 'Q8_0') return w;
  if (w.dtype === 'Q8_0x16') throw new TypeError("quantizeQ8: Q8_0x16 is already quantised (the native kernel's layout)");
  const { rows, cols } = w;
  if (cols % Q8_BLOCK !== 0) {
    throw new RangeError(`Q8_0 needs the row length (in features) to be a multiple of ${Q8_BLOCK}, got ${cols}`);
  }
  const f16 = createF16Table();
  const nb = cols / Q8_BLOCK;
  const data = new Uint8Array(rows * nb * Q8_BLOCK_BYTES);
  const q = new Int8Array(data.buffer);
  const row = new Float32Array(cols);
  const rowBits = new Int32Array(row.buffer);
  for (let r = 0; r < rows; r++) {
    widenRow(w, r, row, rowBits, f16);
    quantizeRow(row, nb, data, q, r * nb * Q8_BLOCK_BYTES, f16, r);
  }
  return { dtype: 'Q8_0', data, rows, cols };
}

// One widened row → nb blocks at data[at…]: the f16 scale (little-endian), then the 32 int8.
function quantizeRow(row: Float32Array, nb: number, data: Uint8Array, q: Int8Array, at: number, f16: Float32Array, r: number): void {
  const block = 32;
  for (let b = 0, o = at; b < nb; b++, o += block + 2) {
    const k0 = b * block;
    const amax = absMax(row, k0, k0 + block);
    const bits = scaleBits(Math.fround(amax / 127));
    const d = f16[bits]!;
    if (!Number.isFinite(d)) throw new RangeError(`Q8_0: weight ${amax} in row ${r} is too large for an f16 block scale`);
    const id = d > 0 ? 1 / d : 0;
    data[o] = bits & 0xff;
    data[o + 1] = bits >>> 8;
    // Weights are only ever quantised here, so their halves may round up: floor(v + 0.5) as an
    // integer truncation of a positive number is branch-free, 2× faster than roundClamp on random
    // signs. The clamp matters only when an f16-subnormal scale rounded far down.
    for (let k = 0; k < block; k++) q[o + 2 + k] = (Math.min(255, Math.max(1, row[k0 + k]! * id + 128.5)) | 0) - 128;
  }
}

const scaleF32 = new Float32Array(1);
const scaleU32 = new Uint32Array(scaleF32.buffer);

// f16 bits of a block scale (≥ 0, an f32 value), round to nearest even: f32ToF16 with a bit-level
// path for the normal range, which is every scale of real weights (f32ToF16 costs ~100 ns a call,
// a few seconds over the 67 M blocks of Motif 2.6B).
export function scaleBits(d: number): number {
  scaleF32[0] = d;
  const u = scaleU32[0]!;
  const exp = u >>> 23;
  if (exp < 113 || exp > 142) return f32ToF16(d);
  const mant = u & 0x7fffff;
  const h = ((exp - 112) << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa moves into the exponent, as it should (up to inf).
  return rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h;
}

function widenRow(w: StoredData & { cols: number }, r: number, row: Float32Array, rowBits: Int32Array, f16: Float32Array): void {
  const n = w.cols;
  const off = r * n;
  if (w.dtype === 'F32') row.set(w.data.subarray(off, off + n));
  else if (w.dtype === 'BF16') for (let i = 0; i < n; i++) rowBits[i] = w.data[off + i]! << 16;
  else for (let i = 0; i < n; i++) row[i] = f16[w.data[off + i]!]!;
}

/**
 * x (n values, n a multiple of 32) → per block d = max|x|/127 (f32, 0 for an all-zero block) and
 * q = round(x/d), in f32 arithmetic exactly as the addon's quantize_q8_blocks.
 */
export function quantizeQ8Blocks(x: Float32Array, n: number, xq: Int8Array, xd: Float32Array): void {
  for (let b = 0; b < n / Q8_BLOCK; b++) {
    const k0 = b * Q8_BLOCK;
    const d = Math.fround(absMax(x, k0, k0 + Q8_BLOCK) / 127);
    const id = d > 0 ? Math.fround(1 / d) : 0;
    xd[b] = d;
    for (let k = k0; k < k0 + Q8_BLOCK; k++) xq[k] = roundClamp(Math.fround(x[k]! * id));
  }
}

/** The portable Q8_0 product and row read of the JS kernel (matmul.ts), with its scratch. */
export interface Q8Js {
  matmul(y: Float32Array, x: Float32Array, rows: number, w: Q8Matrix): void;
  readRow(w: Q8Matrix, row: number, dst: Float32Array, dstOffset: number): void;
}

/** The JS Q8_0 kernel: x quantised per block, integer block dots, one float sum per output. */
export function createQ8Js(f16: Float32Array): Q8Js {
  let xq = new Int8Array(0);
  let xd = new Float32Array(0);
  const int8Views = new WeakMap<Uint8Array, Int8Array>();
  const int8 = (data: Uint8Array): Int8Array => {
    let v = int8Views.get(data);
    if (!v) {
      v = new Int8Array(data.buffer, data.byteOffset, data.length);
      int8Views.set(data, v);
    }
    return v;
  };
  return {
    matmul(y, x, rows, w) {
      const { cols: n, rows: out } = w;
      if (n % Q8_BLOCK !== 0) throw new RangeError(`Q8_0 matmul: row length ${n} is not a multiple of ${Q8_BLOCK}`);
      const nb = n / Q8_BLOCK;
      if (xq.length < rows * n) {
        xq = new Int8Array(rows * n);
        xd = new Float32Array(rows * nb);
      }
      quantizeQ8Blocks(x, rows * n, xq, xd);
      const bytes = w.data;
      const q = int8(bytes);
      for (let o = 0; o < out; o++) {
        const rowAt = o * nb * Q8_BLOCK_BYTES;
        for (let r = 0; r < rows; r++) {
          let acc = 0;
          for (let b = 0; b < nb; b++) {
            const at = rowAt + b * Q8_BLOCK_BYTES;
            const xAt = r * n + b * Q8_BLOCK;
            let isum = 0;
            for (let k = 0; k < Q8_BLOCK; k++) isum += q[at + 2 + k]! * xq[xAt + k]!;
            acc += isum * Math.fround(f16[bytes[at]! | (bytes[at + 1]! << 8)]! * xd[r * nb + b]!);
          }
          y[r * out + o] = acc;
        }
      }
    },
    readRow(w, row, dst, dstOffset) {
      const nb = w.cols / Q8_BLOCK;
      const bytes = w.data;
      const q = int8(bytes);
      for (let b = 0; b < nb; b++) {
        const at = (row * nb + b) * Q8_BLOCK_BYTES;
        const d = f16[bytes[at]! | (bytes[at + 1]! << 8)]!;
        for (let k = 0; k < Q8_BLOCK; k++) dst[dstOffset + b * Q8_BLOCK + k] = d * q[at + 2 + k]!;
      }
    },
  };
}
