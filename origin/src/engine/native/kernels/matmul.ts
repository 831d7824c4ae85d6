/**
 * The matmul port of the forward pass and its plain-JavaScript implementation.
 *
 * Every linear layer is `y[rows × out] = x[rows × in] · Wᵀ` with W stored row-major as [out × in]
 * (PyTorch Linear). Decode is memory-bound, so the loop order is fixed: weight rows outermost and
 * the rows of x inside, which reads each weight row from memory once per call however many
 * sequences are stacked into x. 16-bit weights are widened one row at a time into a scratch row,
 * so the conversion is paid once per weight row, not once per (row of x, weight). Q8_0 weights
 * take the integer block dot products of q8.ts.
 *
 * A native kernel (the C++ addon, see select-kernel.ts) replaces this one by implementing
 * `MatmulKernel`; it may also offer `matmulAsync`, which computes off the JS thread so the event
 * loop keeps serving HTTP while the weights stream past.
 */
import type { AttentionCall } from './attention-call.ts';
import type { WeightMatrix } from './dtype.ts';
import { createF16Table } from './dtype.ts';
import { createQ8Js } from './q8.ts';
import type { RowNorms } from './row-norms.ts';

export interface MatmulKernel {
  readonly name: string;
  /**
   * y[r·out + o] = Σ_i x[r·in + i] · W[o·in + i] for r < rows, with out = w.rows and in = w.cols.
   * `x` holds at least rows·in values, `y` at least rows·out; no allocation happens inside.
   */
  matmul(y: Float32Array, x: Float32Array, rows: number, w: WeightMatrix): void;
  /**
   * The same product computed off the calling thread (optional). Until the promise settles the
   * caller must not touch y, and must not detach x, y or w.
   */
  matmulAsync?(y: Float32Array, x: Float32Array, rows: number, w: WeightMatrix): Promise<void>;
  /** dst[dstOffset + i] = W[row, i] widened to f32 (embedding lookup). */
  readRow(w: WeightMatrix, row: number, dst: Float32Array, dstOffset: number): void;
  /**
   * W as Q8_0, byte for byte what `quantizeQ8` (q8.ts) makes, only faster (optional: the native
   * kernel quantises on all cores in C++; the JS one takes ~20 ns a weight).
   */
  quantizeQ8?(w: WeightMatrix): WeightMatrix;
  /**
   * A Q8_0 matrix in this kernel's faster layout of the same blocks (optional: the native kernel's
   * Q8_0x16 on AVX-512 VNNI CPUs). Returns `w` itself when the layout does not apply; only this
   * kernel multiplies by the result.
   */
  packQ8?(w: WeightMatrix): WeightMatrix;
  /** Differential attention (optional; without it the forward pass runs its JavaScript version). */
  attend?(call: AttentionCall): void;
  /** The row norms (optional; without them the forward pass runs forward/norms.ts). */
  readonly norms?: RowNorms;
}

export interface JsKernelOptions {
  /** Widest weight row expected (sizes the scratch row up front; wider rows grow it once). */
  maxCols?: number;
}

// Q8_0x16 is the native kernel's regrouping of Q8_0 (MatmulKernel.packQ8): packed by it, for it.
const notMine = () => new TypeError("Q8_0x16 weights are the native kernel's layout; the JS kernel multiplies Q8_0");

/**
 * The portable kernel: scalar JavaScript with 4 independent accumulators per dot product
 * (breaks the add dependency chain). Accumulation happens in doubles, stores round to f32.
 */
export function createJsKernel(opts: JsKernelOptions = {}): MatmulKernel {
  const maxCols = opts.maxCols ?? 8192;
  if (!Number.isInteger(maxCols) || maxCols <= 0) throw new RangeError(`maxCols must be a positive integer, got ${maxCols}`);
  let row = new Float32Array(maxCols);
  let rowBits = new Int32Array(row.buffer);
  // 256 KiB: every half value as f32, so F16 rows widen by table lookup.
  const f16 = createF16Table();
  const q8 = createQ8Js(f16);
  // 32-bit views of BF16 matrices (two weights per load), made once per matrix.
  const pairViews = new WeakMap<Uint16Array, Uint32Array>();

  function scratchRow(cols: number): Float32Array {
    if (cols > row.length) {
      row = new Float32Array(cols);
      rowBits = new Int32Array(row.buffer);
    }
    return row;
  }

  function pairView(data: Uint16Array, cols: number): Uint32Array | null {
    if (cols % 2 !== 0 || data.byteOffset % 4 !== 0) return null;
    let v = pairViews.get(data);
    if (!v) {
      v = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 1);
      pairViews.set(data, v);
    }
    return v;
  }

  // Widen W[o, :] into the scratch row.
  function widenRow(w: WeightMatrix, o: number, pairs: Uint32Array | null): Float32Array {
    if (w.dtype === 'Q8_0x16') throw notMine();
    const n = w.cols;
    const r = scratchRow(n);
    if (w.dtype === 'Q8_0') {
      q8.readRow(w, o, r, 0);
    } else if (w.dtype === 'BF16') {
      if (pairs) widenBf16Pairs(pairs, (o * n) >>> 1, n >>> 1, rowBits);
      else widenBf16(w.data, o * n, n, rowBits);
    } else if (w.dtype === 'F16') {
      widenF16(w.data, o * n, n, f16, r);
    } else {
      const src = w.data;
      for (let i = 0, off = o * n; i < n; i++) r[i] = src[off + i]!;
    }
    return r;
  }

  return {
    name: 'js-scalar',
    matmul(y, x, rows, w) {
      const n = w.cols;
      const out = w.rows;
      if (x.length < rows * n || y.length < rows * out) {
        throw new RangeError(`matmul buffers too small: x ${x.length} < ${rows}×${n} or y ${y.length} < ${rows}×${out}`);
      }
      if (w.dtype === 'F32') {
        for (let o = 0; o < out; o++) dotRows(y, x, rows, out, o, w.data, o * n, n);
        return;
      }
      if (w.dtype === 'Q8_0') return q8.matmul(y, x, rows, w);
      if (w.dtype === 'Q8_0x16') throw notMine();
      const pairs = w.dtype === 'BF16' ? pairView(w.data, n) : null;
      for (let o = 0; o < out; o++) dotRows(y, x, rows, out, o, widenRow(w, o, pairs), 0, n);
    },
    readRow(w, rowIndex, dst, dstOffset) {
      if (!Number.isInteger(rowIndex) || rowIndex < 0 || rowIndex >= w.rows) throw new RangeError(`row ${rowIndex} outside [0, ${w.rows})`);
      // Copy loops rather than subarray(): this runs once per token and should not allocate.
      const n = w.cols;
      const r = widenRow(w, rowIndex, null);
      for (let i = 0; i < n; i++) dst[dstOffset + i] = r[i]!;
    },
  };
}

// bf16 is the upper half of an f32: shifting the bits up is the whole conversion.
function widenBf16(src: Uint16Array, off: number, n: number, dst: Int32Array): void {
  for (let i = 0; i < n; i++) dst[i] = src[off + i]! << 16;
}

// Two bf16 per 32-bit load (little-endian: the even element is the low half).
function widenBf16Pairs(src: Uint32Array, off: number, pairs: number, dst: Int32Array): void {
  for (let j = 0; j < pairs; j++) {
    const u = src[off + j]!;
    dst[2 * j] = u << 16;
    dst[2 * j + 1] = u & 0xffff0000;
  }
}

function widenF16(src: Uint16Array, off: number, n: number, table: Float32Array, dst: Float32Array): void {
  for (let i = 0; i < n; i++) dst[i] = table[src[off + i]!]!;
}

// y[r·out + o] = x[r, :] · wr[wOff .. wOff+n) for every row r of x.
function dotRows(y: Float32Array, x: Float32Array, rows: number, out: number, o: number, wr: Float32Array, wOff: number, n: number): void {
  const n4 = n - (n & 3);
  for (let r = 0; r < rows; r++) {
    const xOff = r * n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = 0;
    for (; i < n4; i += 4) {
      s0 += x[xOff + i]! * wr[wOff + i]!;
      s1 += x[xOff + i + 1]! * wr[wOff + i + 1]!;
      s2 += x[xOff + i + 2]! * wr[wOff + i + 2]!;
      s3 += x[xOff + i + 3]! * wr[wOff + i + 3]!;
    }
    for (; i < n; i++) s0 += x[xOff + i]! * wr[wOff + i]!;
    y[r * out + o] = s0 + s1 + (s2 + s3);
  }
}

/**
 * y = x·Wᵀ as a plain function over raw arrays, the shape native (addon / WebAssembly) kernels
 * export: W is outDim×inDim in `dtype`.
 */
export type RawMatmul = (
  y: Float32Array,
  x: Float32Array,
  w: WeightMatrix['data'],
  dtype: WeightMatrix['dtype'],
  rows: number,
  inDim: number,
  outDim: number,
) => void;

/**
 * Wrap a raw matmul function as a MatmulKernel; embedding rows are still widened by the JS kernel
 * (one row per token is not worth a native call).
 */
export function kernelFromMatmul(name: string, matmul: RawMatmul, maxCols?: number): MatmulKernel {
  const js = createJsKernel(maxCols === undefined ? {} : { maxCols });
  return {
    name,
    matmul: (y, x, rows, w) => matmul(y, x, w.data, w.dtype, rows, w.cols, w.rows),
    readRow: (w, row, dst, dstOffset) => js.readRow(w, row, dst, dstOffset),
  };
}
