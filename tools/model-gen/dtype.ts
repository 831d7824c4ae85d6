/**
 * Storage dtypes of the generated checkpoints and exact float conversions: float32 → bfloat16 and
 * float32 → float16 with round-to-nearest-even (what PyTorch's `.to(dtype)` does), plus the
 * inverse decoders used by tests and by readers that want to check a file.
 */
import { z } from 'zod';
import { bf16ToF32, f16ToF32, f32BitsToBf16 } from '../../origin/src/engine/native/kernels/dtype.ts';

export const StorageDtype = z.enum(['F32', 'BF16', 'F16']);
export type StorageDtype = z.infer<typeof StorageDtype>;

/** Bytes per element of each storage dtype. */
export const DTYPE_BYTES: Record<StorageDtype, number> = { F32: 4, BF16: 2, F16: 2 };

/** `torch_dtype` value written into config.json for each storage dtype. */
export const TORCH_DTYPE: Record<StorageDtype, string> = { F32: 'float32', BF16: 'bfloat16', F16: 'float16' };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE-754 bits of `x` rounded to float32. */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** float32 value of the given bits. */
export function f32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}

/** Round `x` (first to float32) to bfloat16 bits, nearest-even; NaN stays a quiet NaN. */
export function toBf16Bits(x: number): number {
  // The engine's encoder, so generated files and engine test fixtures round identically.
  return f32BitsToBf16(f32Bits(x));
}

/** Round `x` (first to float32) to IEEE half-precision bits, nearest-even, with subnormals. */
export function toF16Bits(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x0200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half of the smallest subnormal: rounds to ±0
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h; // h === 0x400 is the smallest normal: the carry is already correct
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry may reach 0x7c00 = inf: correct
  return sign | h;
}

// Decoding is the engine's job; the generator reuses its converters so both read bits the same way.

export { bf16ToF32 as bf16ToNumber, f16ToF32 as f16ToNumber } from '../../origin/src/engine/native/kernels/dtype.ts';
/** Encode one value into the storage dtype's bits (F32 → 32-bit word, BF16/F16 → 16-bit). */
export function encodeValue(dtype: StorageDtype, x: number): number {
  if (dtype === 'F32') return f32Bits(x);
  return dtype === 'BF16' ? toBf16Bits(x) : toF16Bits(x);
}

/** Decode stored bits back to a number (inverse of `encodeValue` up to rounding). */
export function decodeValue(dtype: StorageDtype, bits: number): number {
  if (dtype === 'F32') return f32FromBits(bits);
  return dtype === 'BF16' ? bf16ToF32(bits) : f16ToF32(bits);
}

/** True when typed arrays use little-endian byte order (safetensors data is little-endian). */
export function isLittleEndian(): boolean {
  return new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
}
