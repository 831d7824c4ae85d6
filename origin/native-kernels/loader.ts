/**
 * Loads the compiled kernels addon (`build/Release/motif_kernels.node`, built by `build.mjs` at
 * install time) and checks that it exports what the TS side expects. This is the only file that
 * touches the binary; `origin/src/engine/native/kernels-addon/` wraps it in the engine's API.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Where `build.mjs` puts the addon. */
export const DEFAULT_ADDON_PATH = fileURLToPath(new URL('./build/Release/motif_kernels.node', import.meta.url));
const BUILD_ERROR_PATH = fileURLToPath(new URL('./build/build-error.txt', import.meta.url));

/** Weight storage codes of the native API (matches `WeightType` in src/matmul.h). */
export const NATIVE_WEIGHT_CODE = { F32: 0, BF16: 1, F16: 2, Q8_0: 3, Q8_0x16: 4 } as const;

/** The raw exports of the addon (see src/addon.cc). */
export interface NativeKernelsBinding {
  matmul(
    y: Float32Array,
    x: Float32Array,
    /** F32: Float32Array; BF16/F16: Uint16Array; Q8_0: Uint8Array of 34-byte blocks. */
    w: Float32Array | Uint16Array | Uint8Array,
    wtype: number,
    rows: number,
    inDim: number,
    outDim: number,
    maxThreads: number,
    /** true = the widest path, false = scalar, or a level (0 scalar, 1 AVX2, 2 AVX-512). */
    maxSimd: boolean | number,
  ): void;
  matmulAsync(
    y: Float32Array,
    x: Float32Array,
    w: Float32Array | Uint16Array | Uint8Array,
    wtype: number,
    rows: number,
    inDim: number,
    outDim: number,
    maxThreads: number,
    maxSimd: boolean | number,
  ): Promise<void>;
  /**
   * F32/BF16/F16 weights (wtype 0..2) → Q8_0 blocks in `out`, on the pool; false when a weight is
   * NaN or too large for an f16 block scale. Absent in addons built before Q8_0.
   */
  quantizeQ8?(w: Float32Array | Uint16Array, wtype: number, rows: number, cols: number, out: Uint8Array, maxThreads: number): boolean;
  /** Q8_0 blocks (rows a multiple of 16) → the same regrouped as Q8_0x16 into `out`. Absent in older addons. */
  packQ8x16?(q8: Uint8Array, rows: number, cols: number, out: Uint8Array, maxThreads: number): void;
  /** GB/s (1e9 bytes/s) of each run. */
  readBandwidth(bytes: number, threads: number, runs: number): Promise<number[]>;
  info(): NativeKernelsInfo;
  /**
   * SHA-256 of each message into `out` (32 bytes each, in order); false when the CPU lacks SHA-NI
   * (nothing written). Absent in addons built before it existed.
   */
  sha256Batch?(messages: Uint8Array[], out: Uint8Array): boolean;
  /**
   * Differential attention of one layer for `count` query rows of one sequence (src/attention.h),
   * on the pool. Absent in addons built before it existed.
   */
  attend?(
    z: Float32Array,
    q: Float32Array,
    qStride: number,
    qRow: number,
    count: number,
    startPos: number,
    kBlocks: readonly Float32Array[],
    vBlocks: readonly Float32Array[],
    shift: number,
    heads: number,
    headDim: number,
    lambda: number,
    lambdaInit: number,
    subln: Float32Array,
    eps: number,
    maxThreads: number,
    maxSimd: number,
  ): void;
  /** RMSNorm of `rows` rows (src/norms.h), on the pool. Absent in addons built before it existed. */
  rmsNormRows?(dst: Float32Array, src: Float32Array, rows: number, width: number, gain: Float32Array, eps: number, maxThreads: number, maxSimd: number): void;
  /** PolyNorm of the fused gate/up rows times up (src/norms.h), on the pool. Absent in addons built before it existed. */
  polyNormGateFused?(
    dst: Float32Array,
    gateUp: Float32Array,
    rows: number,
    width: number,
    weight: Float32Array,
    bias: number,
    eps: number,
    maxThreads: number,
    maxSimd: number,
  ): void;
}

export const NativeKernelsInfo = z.object({
  /** The widest matmul path of this CPU. */
  simd: z.enum(['amx', 'avx512', 'avx2', 'scalar']),
  threads: z.number().int().min(1),
  arch: z.string(),
  /** The SHA-256 path of sha256Batch on this CPU. */
  sha256: z.enum(['sha-ni', 'none']).optional(),
  /** Whether Q8_0 weights (wtype 3) are understood; absent in addons built before them. */
  q8: z.boolean().optional(),
  /** Whether Q8_0x16 weights (wtype 4) have their AVX-512 VNNI path on this CPU; absent in older addons. */
  q8x16: z.boolean().optional(),
});
export type NativeKernelsInfo = z.infer<typeof NativeKernelsInfo>;

const isFunction = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function');
const BindingShape = z.object({
  matmul: isFunction,
  matmulAsync: isFunction,
  readBandwidth: isFunction,
  info: isFunction,
});

export type NativeLoadResult = { ok: true; binding: NativeKernelsBinding; info: NativeKernelsInfo; path: string } | { ok: false; reason: string };

/**
 * Loads the addon from `path` (default: the install-time build). Never throws: a missing or
 * broken binary gives `{ ok: false, reason }`, with the build's own error when there was one.
 */
export function loadNativeKernels(path: string = DEFAULT_ADDON_PATH): NativeLoadResult {
  if (!existsSync(path)) {
    const buildError = path === DEFAULT_ADDON_PATH && existsSync(BUILD_ERROR_PATH) ? readFileSync(BUILD_ERROR_PATH, 'utf8').split('\n')[0] : undefined;
    return {
      ok: false,
      reason: `native kernels addon not found at ${path}` + (buildError ? ` (install-time build: ${buildError})` : ' (run `npm run build:kernels`)'),
    };
  }
  try {
    const exports: unknown = createRequire(import.meta.url)(path);
    const shape = BindingShape.safeParse(exports);
    if (!shape.success) return { ok: false, reason: `native kernels addon at ${path} lacks the expected exports` };
    const binding = exports as NativeKernelsBinding;
    const info = NativeKernelsInfo.safeParse(binding.info());
    if (!info.success) return { ok: false, reason: `native kernels addon at ${path} reports an unexpected info()` };
    return { ok: true, binding, info: info.data, path };
  } catch (err) {
    return { ok: false, reason: `cannot load native kernels addon at ${path}: ${(err as Error).message}` };
  }
}
