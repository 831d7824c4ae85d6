/**
 * The plain TypeScript matmul: straightforward loops, accumulated in float64 (JS numbers). It is
 * the correctness oracle of the addon tests and the baseline of `npm run bench:kernels`; the
 * engine's own portable kernels live elsewhere.
 */
import type { MatmulFn, WeightDtype } from './kernels-addon.ts';

/**
 * The float value of every 16-bit pattern of BF16 or F16 (65,536 entries), computed from the
 * format definitions, independently of the native code it checks.
 */
export function decodeTable(dtype: Exclude<WeightDtype, 'F32'>): Float32Array {
  const table = new Float32Array(65536);
  if (dtype === 'BF16') {
    // BF16 is the upper half of a binary32: reinterpret through a shared buffer.
    const bits = new Uint32Array(table.buffer);
    for (let h = 0; h < 65536; h++) bits[h] = h << 16;
    return table;
  }
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    table[h] = exp === 0 ? sign * mant * 2 ** -24 : exp === 31 ? (mant ? NaN : sign * Infinity) : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return table;
}

/** Returns the plain-loop matmul; the decode tables are built once per instance, on first use. */
export function createPlainMatmul(): MatmulFn {
  const tables: Partial<Record<'BF16' | 'F16', Float32Array>> = {};
  return function plainMatmul(y, x, w, wDtype, rows, inDim, outDim) {
    if (y.length < rows * outDim || x.length < rows * inDim || w.length < outDim * inDim) {
      throw new RangeError(`plainMatmul: arrays too short for ${rows}x${inDim} · (${outDim}x${inDim})ᵀ`);
    }
    if (wDtype === 'Q8_0' || wDtype === 'Q8_0x16') throw new RangeError(`plainMatmul: ${wDtype} is a block format, not a plain one (see kernels/q8.ts)`);
    const table = wDtype === 'F32' ? undefined : (tables[wDtype] ??= decodeTable(wDtype));
    for (let r = 0; r < rows; r++) {
      const xo = r * inDim;
      for (let o = 0; o < outDim; o++) {
        const wo = o * inDim;
        let s = 0;
        if (table) {
          for (let k = 0; k < inDim; k++) s += x[xo + k]! * table[w[wo + k]!]!;
        } else {
          for (let k = 0; k < inDim; k++) s += x[xo + k]! * w[wo + k]!;
        }
        y[r * outDim + o] = s;
      }
    }
  };
}
