/**
 * The native matmul kernels as a drop-in for the portable TS kernel: same `matmul` signature
 * (y = x·Wᵀ, W stored out×in as F32, BF16, F16 or Q8_0 blocks), computed by the C++ addon with AVX2/FMA/F16C
 * and the process-wide thread pool. `loadKernelsAddon()` returns null, with a logged reason, when
 * the addon is not built (no toolchain at install time, unsupported platform), and the caller
 * keeps the portable kernels. This is a runtime adapter (it loads a Node addon): only a
 * composition root should call `loadKernelsAddon`, the engine receives the `matmul` function.
 */
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import { loadNativeKernels, NATIVE_WEIGHT_CODE, type NativeKernelsBinding } from '../../../../../native-kernels/loader.ts';
import type { AttentionCall } from '../../../../engine/native/kernels/attention-call.ts';
import type { RowNorms } from '../../../../engine/native/kernels/row-norms.ts';

export type WeightDtype = 'F32' | 'BF16' | 'F16' | 'Q8_0' | 'Q8_0x16';
/** Float32Array for F32, Uint16Array for BF16/F16, Uint8Array (34-byte blocks) for Q8_0 and Q8_0x16. */
export type WeightArray = Float32Array | Uint16Array | Uint8Array;

/** y (rows×out) = x (rows×in) · Wᵀ (W is out×in); the primitive every linear layer uses. */
export type MatmulFn = (y: Float32Array, x: Float32Array, w: WeightArray, wDtype: WeightDtype, rows: number, inDim: number, outDim: number) => void;

export type SimdPath = 'amx' | 'avx512' | 'avx2' | 'scalar';

// The native `maxSimd` levels (src/matmul.h `Simd`).
const SIMD_LEVEL: Record<SimdPath, number> = { scalar: 0, avx2: 1, avx512: 2, amx: 3 };

export type MatmulAsyncFn = (...args: Parameters<MatmulFn>) => Promise<void>;

export interface BandwidthResult {
  /** Median of the runs, GB/s (1e9 bytes per second). */
  gbPerS: number;
  runs: number[];
  bytes: number;
  threads: number;
}

export interface KernelsAddon {
  /** Synchronous; blocks the calling JS thread (use from the engine's worker thread). */
  matmul: MatmulFn;
  /** The same on a libuv worker thread; the arrays must not be transferred until it settles. */
  matmulAsync: MatmulAsyncFn;
  /**
   * W (F32/BF16/F16, rows × cols) → a new array of Q8_0 blocks, byte for byte what the engine's
   * JS quantiser writes, on all cores (absent when the addon predates Q8_0). Throws a RangeError
   * for a row length off the 32-weight block, a NaN weight or one too large for an f16 scale.
   */
  quantizeQ8?: (w: Float32Array | Uint16Array, wDtype: Exclude<WeightDtype, 'Q8_0' | 'Q8_0x16'>, rows: number, cols: number) => Uint8Array;
  /**
   * Q8_0 blocks → a new array of the same blocks regrouped per 16 rows (Q8_0x16, the addon's AVX-512
   * VNNI layout: native-kernels/README.md). Present only where that path runs (an AVX-512 VNNI CPU,
   * not capped below AVX-512); elsewhere Q8_0 stays as it is. Throws a RangeError for rows off 16.
   */
  packQ8x16?: (q8: Uint8Array, rows: number, cols: number) => Uint8Array;
  /** Differential attention on the pool (absent when the addon predates it). Throws for a wrong shape. */
  attend?: (call: AttentionCall) => void;
  /** The forward pass's row norms on the pool (absent when the addon predates them). Throw for a wrong shape. */
  norms?: RowNorms;
  /** Memory read bandwidth with `threads` cores (default all), the roofline of decode. */
  readBandwidth(opts?: BandwidthOptions): Promise<BandwidthResult>;
  readonly info: {
    /** The widest path this instance uses (AVX-512 only for the many-row GEMM, see the addon README). */
    simd: SimdPath;
    /** Size of the process-wide pool (the cores this process may use). */
    threads: number;
    /** Cap applied by this instance (0 = the whole pool). */
    maxThreads: number;
    arch: string;
    path: string;
  };
}

export const KernelsAddonOptions = z.object({
  /** Addon binary; default the install-time build. */
  path: z.string().min(1).optional(),
  /** Threads per matmul, 0 = every core of the pool; 1 = single-threaded. */
  maxThreads: z.number().int().min(0).max(1024).default(0),
  /**
   * The widest path to use: `auto` = the widest the CPU has; `avx512` keeps AMX CPUs on the
   * AVX-512 GEMM, `avx2` caps AVX-512 CPUs at AVX2 and `scalar` forces the portable C++ path
   * (tests, comparisons).
   */
  simd: z.enum(['auto', 'avx512', 'avx2', 'scalar']).default('auto'),
});
export type KernelsAddonOptions = z.input<typeof KernelsAddonOptions>;

export const BandwidthOptions = z.object({
  bytes: z
    .number()
    .int()
    .min(4096)
    .max(2 ** 40)
    .default(2 ** 30),
  threads: z.number().int().min(1).max(1024).optional(),
  runs: z.number().int().min(1).max(100).default(5),
});
export type BandwidthOptions = z.input<typeof BandwidthOptions>;

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function weightCode(wDtype: WeightDtype, q8: boolean): number {
  const code = NATIVE_WEIGHT_CODE[wDtype];
  if (code === undefined) throw new ApiError('internal_error', `matmul: unknown weight dtype ${String(wDtype)}`);
  if (wDtype === 'Q8_0' && !q8) throw new ApiError('engine_unavailable', 'the native kernels addon predates Q8_0 weights; rebuild it (npm run build:kernels)');
  return code;
}

// Native argument errors are engine bugs (wrong shapes), not client mistakes: they surface as the
// one error type with the native message kept for the logs.
function asApiError(err: unknown, kernel = 'matmul'): ApiError {
  return new ApiError('internal_error', `${kernel} kernel: ${(err as Error).message}`, { cause: err });
}

function quantizer(native: NonNullable<NativeKernelsBinding['quantizeQ8']>, maxThreads: number): NonNullable<KernelsAddon['quantizeQ8']> {
  return (w, wDtype, rows, cols) => {
    if (cols % 32 !== 0) throw new RangeError(`Q8_0 needs the row length (in features) to be a multiple of 32, got ${cols}`);
    const out = new Uint8Array(rows * (cols / 32) * 34);
    if (!native(w, NATIVE_WEIGHT_CODE[wDtype], rows, cols, out, maxThreads)) {
      throw new RangeError('Q8_0: a weight is NaN or too large for an f16 block scale');
    }
    return out;
  };
}

function packer(native: NonNullable<NativeKernelsBinding['packQ8x16']>, maxThreads: number): NonNullable<KernelsAddon['packQ8x16']> {
  return (q8, rows, cols) => {
    const out = new Uint8Array(q8.length);
    native(q8, rows, cols, out, maxThreads);
    return out;
  };
}

function attender(native: NonNullable<NativeKernelsBinding['attend']>, maxThreads: number, maxSimd: number): NonNullable<KernelsAddon['attend']> {
  return (c) => {
    try {
      native(
        c.z,
        c.q,
        c.qStride,
        c.qRow,
        c.count,
        c.startPos,
        c.k,
        c.v,
        c.shift,
        c.heads,
        c.headDim,
        c.lambda,
        c.lambdaInit,
        c.subln,
        c.eps,
        maxThreads,
        maxSimd,
      );
    } catch (err) {
      throw asApiError(err, 'attention');
    }
  };
}

function rowNorms(native: NativeKernelsBinding, maxThreads: number, maxSimd: number): RowNorms | undefined {
  const rms = native.rmsNormRows?.bind(native);
  const poly = native.polyNormGateFused?.bind(native);
  if (!rms || !poly) return undefined;
  return {
    rmsNormRows(dst, src, rows, width, gain, eps) {
      try {
        rms(dst, src, rows, width, gain, eps, maxThreads, maxSimd);
      } catch (err) {
        throw asApiError(err, 'rmsNorm');
      }
    },
    polyNormGateFused(dst, gateUp, rows, width, weight, bias, eps) {
      try {
        poly(dst, gateUp, rows, width, weight, bias, eps, maxThreads, maxSimd);
      } catch (err) {
        throw asApiError(err, 'polyNorm');
      }
    },
  };
}

/**
 * Loads the addon and returns the kernels, or null (after logging why through `log`) when it is
 * not available. Bad options throw at once (a configuration error, not a fallback case).
 */
export function loadKernelsAddon(options: KernelsAddonOptions = {}, log: (message: string) => void = (m) => console.warn(m)): KernelsAddon | null {
  const opts = KernelsAddonOptions.parse(options);
  const loaded = loadNativeKernels(opts.path);
  if (!loaded.ok) {
    log(`${loaded.reason}; using the portable TS kernels`);
    return null;
  }
  const simd = opts.simd === 'auto' || SIMD_LEVEL[opts.simd] > SIMD_LEVEL[loaded.info.simd] ? loaded.info.simd : opts.simd;
  return wrap(loaded.binding, loaded.info, loaded.path, opts.maxThreads, simd);
}

function wrap(
  native: NativeKernelsBinding,
  nativeInfo: { simd: SimdPath; threads: number; arch: string; q8?: boolean | undefined; q8x16?: boolean | undefined },
  path: string,
  maxThreads: number,
  simd: SimdPath,
): KernelsAddon {
  // Booleans for "widest" and "scalar": what addons built before the AVX-512 path understand.
  const maxSimd = simd === nativeInfo.simd ? true : simd === 'scalar' ? false : SIMD_LEVEL[simd];
  const q8 = nativeInfo.q8 === true;
  // Numeric levels for the calls added after AVX-512 (attend, the norms): 0 scalar, else the cap.
  const level = simd === 'scalar' ? 0 : SIMD_LEVEL[simd];
  const norms = rowNorms(native, maxThreads, level);
  return {
    matmul(y, x, w, wDtype, rows, inDim, outDim) {
      const code = weightCode(wDtype, q8);
      try {
        native.matmul(y, x, w, code, rows, inDim, outDim, maxThreads, maxSimd);
      } catch (err) {
        throw asApiError(err);
      }
    },
    async matmulAsync(y, x, w, wDtype, rows, inDim, outDim) {
      const code = weightCode(wDtype, q8);
      try {
        await native.matmulAsync(y, x, w, code, rows, inDim, outDim, maxThreads, maxSimd);
      } catch (err) {
        throw asApiError(err);
      }
    },
    ...(q8 && native.quantizeQ8 ? { quantizeQ8: quantizer(native.quantizeQ8.bind(native), maxThreads) } : {}),
    ...(nativeInfo.q8x16 === true && level >= SIMD_LEVEL.avx512 && native.packQ8x16 ? { packQ8x16: packer(native.packQ8x16.bind(native), maxThreads) } : {}),
    ...(native.attend ? { attend: attender(native.attend.bind(native), maxThreads, level) } : {}),
    ...(norms ? { norms } : {}),
    async readBandwidth(options = {}) {
      const o = BandwidthOptions.parse(options);
      const threads = o.threads ?? nativeInfo.threads;
      const runs = await native.readBandwidth(o.bytes, threads, o.runs);
      return { gbPerS: median(runs), runs, bytes: o.bytes, threads: Math.min(threads, nativeInfo.threads) };
    },
    info: {
      simd,
      threads: nativeInfo.threads,
      maxThreads,
      arch: nativeInfo.arch,
      path,
    },
  };
}
