/**
 * Stored weight precisions and their conversion to f32. Weights stay in the precision the
 * checkpoint stores (decode is memory-bound, so halving the bytes read per step matters more than
 * the conversion cost); kernels widen them to f32 one weight row at a time.
 */

/** Tensor dtypes the native engine loads (safetensors names). */
export type StoredDtype = 'F32' | 'BF16' | 'F16';

/** Tensor payload in its stored precision: f32 as-is, 16-bit formats as raw bit patterns. */
export type StoredData = { dtype: 'F32'; data: Float32Array } | { dtype: 'BF16' | 'F16'; data: Uint16Array };

/**
 * Weights quantised at load (q8.ts), never read from a checkpoint: Q8_0 is llama.cpp's
 * block_q8_0, per 32 weights of a row an IEEE half scale d then 32 int8 q (34 bytes), w ≈ d·q.
 * Q8_0x16 holds the same blocks regrouped per 16 rows for the native kernel's AVX-512 VNNI path
 * (MatmulKernel.packQ8; layout in native-kernels/README.md): same size, only that kernel reads it.
 */
export type QuantData = { dtype: 'Q8_0'; data: Uint8Array } | { dtype: 'Q8_0x16'; data: Uint8Array };

/** Every weight precision a kernel multiplies by. */
export type WeightDtype = StoredDtype | QuantData['dtype'];

/** A row-major [rows × cols] weight matrix (PyTorch Linear layout: rows = out, cols = in). */
export type WeightMatrix = (StoredData | QuantData) & { rows: number; cols: number };

/** Weights per Q8_0 block (the row length must be a multiple of it) and bytes per block. */
export const Q8_BLOCK = 32;
export const Q8_BLOCK_BYTES = 2 + Q8_BLOCK;

/** Bytes per element of a stored dtype. */
export function dtypeBytes(dtype: StoredDtype): number {
  return dtype === 'F32' ? 4 : 2;
}

/** The matrix variant of `dtype` over `data` (for raw-array APIs); throws when the array type does not fit. */
export function weightMatrix(dtype: WeightDtype, data: WeightMatrix['data'], rows: number, cols: number): WeightMatrix {
  const want = dtype === 'F32' ? Float32Array : dtype === 'Q8_0' || dtype === 'Q8_0x16' ? Uint8Array : Uint16Array;
  if (!(data instanceof want)) throw new TypeError(`${dtype} weights must be a ${want.name}`);
  return { dtype, data, rows, cols } as WeightMatrix;
}

/** Length of the `data` array of a rows × cols matrix in `dtype` (elements; bytes for Q8_0 and Q8_0x16). */
export function weightDataLength(dtype: WeightDtype, rows: number, cols: number): number {
  return dtype === 'Q8_0' || dtype === 'Q8_0x16' ? rows * (cols / Q8_BLOCK) * Q8_BLOCK_BYTES : rows * cols;
}

/** bfloat16 bits → f32 value (bf16 is the top half of an f32: 8 exponent bits, 7 fraction bits). */
export function bf16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 7) & 0xff;
  const frac = bits & 0x7f;
  if (exp === 0) return sign * frac * 2 ** -133;
  if (exp === 0xff) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 128) * 2 ** (exp - 127);
}

/**
 * f32 bit pattern → bfloat16 bits, round to nearest even (what PyTorch's `.to(torch.bfloat16)`
 * does); NaN stays NaN, made quiet. The one bf16 encoder: model-gen builds on it too.
 */
export function f32BitsToBf16(bits: number): number {
  const u = bits >>> 0;
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0) return ((u >>> 16) | 0x0040) & 0xffff;
  // Adding 0x7fff + lsb then truncating rounds half to even; overflow carries into the exponent (→ ±inf).
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** f32 values → bfloat16 bits, round to nearest even; NaN stays NaN. For tests and tools. */
export function f32ArrayToBf16(src: Float32Array): Uint16Array {
  // Copy first: src may be a view whose byte offset is not 4-aligned for a Uint32Array view.
  const u32 = new Uint32Array(Float32Array.from(src).buffer);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < u32.length; i++) out[i] = f32BitsToBf16(u32[i]!);
  return out;
}

/** f32 values → IEEE half bits, round to nearest even. For tests and tools. */
export function f32ArrayToF16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16(src[i]!);
  return out;
}

/** Widen any stored tensor to a fresh Float32Array (small vectors at load time, tests). */
export function storedToF32(t: StoredData): Float32Array {
  if (t.dtype === 'F32') return Float32Array.from(t.data);
  const conv = t.dtype === 'BF16' ? bf16ToF32 : f16ToF32;
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = conv(t.data[i]!);
  return out;
}

/** IEEE half bits → f32 value (handles subnormals, infinities and NaN). */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** f32 value → IEEE half bits, round to nearest even (overflow → ±inf). */
export function f32ToF16(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(Math.fround(value));
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) {
    // Subnormal range: the value in units of 2^-24, rounded half to even.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  let exp = Math.floor(Math.log2(a));
  if (2 ** exp > a) exp -= 1; // guard log2 rounding
  if (2 ** (exp + 1) <= a) exp += 1;
  let mant = roundHalfEven((a / 2 ** exp - 1) * 1024);
  if (mant === 1024) {
    mant = 0;
    exp += 1;
  }
  if (exp > 15) return sign | 0x7c00;
  return sign | ((exp + 15) << 10) | mant;
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** A 65536-entry table of every half value as f32, for the F16 kernels. */
export function createF16Table(): Float32Array {
  const t = new Float32Array(65536);
  for (let b = 0; b < 65536; b++) t[b] = f16ToF32(b);
  return t;
}
