/**
 * The one place that decides which matmul kernel the Motif forward pass runs on: the native
 * addon (AVX2/FMA, all cores, ~100× the JS kernel) when it loads, else the portable JS kernel.
 * `MOTIF_KERNELS` (or the engine's `kernels` option) overrides the choice: `js` never touches the
 * addon, `native` refuses to start without it instead of silently running 100× slower.
 * Loading the addon is a runtime capability, so it is injected (`loadAddon`); the Node adapter
 * (adapters/node/engine/node-kernels.ts) supplies it. Exactly one log line says which kernel runs and why.
 */
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import type { AttentionCall } from './attention-call.ts';
import type { WeightMatrix } from './dtype.ts';
import type { MatmulKernel } from './matmul.ts';
import { createJsKernel } from './matmul.ts';
import type { RowNorms } from './row-norms.ts';

export const KernelMode = z.enum(['auto', 'js', 'native']);
export type KernelMode = z.infer<typeof KernelMode>;

type Raw = (y: Float32Array, x: Float32Array, w: WeightMatrix['data'], dtype: WeightMatrix['dtype'], rows: number, inDim: number, outDim: number) => void;

/** What the selection needs of the kernels addon (KernelsAddon satisfies it structurally). */
export interface NativeMatmuls {
  matmul: Raw;
  matmulAsync(...args: Parameters<Raw>): Promise<void>;
  /** W (F32/BF16/F16) → Q8_0 bytes (see MatmulKernel.quantizeQ8); optional. */
  quantizeQ8?: (w: Float32Array | Uint16Array, dtype: 'F32' | 'BF16' | 'F16', rows: number, cols: number) => Uint8Array;
  /** Q8_0 bytes → Q8_0x16 bytes (see MatmulKernel.packQ8); optional. */
  packQ8x16?: (q8: Uint8Array, rows: number, cols: number) => Uint8Array;
  /** Differential attention (see MatmulKernel.attend); optional. */
  attend?: (call: AttentionCall) => void;
  /** The row norms (see MatmulKernel.norms); optional. */
  norms?: RowNorms;
  readonly info: { readonly simd: string; readonly threads: number; readonly maxThreads: number; readonly path: string };
}

export interface SelectKernelOptions {
  /** `auto` (default), `js` or `native`; anything else throws. */
  mode?: string;
  /** Load the addon, or return null after passing the reason to `why`. */
  loadAddon: (why: (reason: string) => void) => NativeMatmuls | null;
  /** Widest weight row (sizes the JS kernel's scratch row). */
  maxCols?: number;
  /** Receives the one line naming the kernel (default console.log). */
  log?: (line: string) => void;
}

export interface KernelSelection {
  readonly kernel: MatmulKernel;
  readonly kind: 'js' | 'native';
  /** The logged line. */
  readonly reason: string;
}

/**
 * Choose the kernel for `mode`. Throws ApiError('engine_unavailable') for an unknown mode or when
 * `native` was demanded and the addon cannot load; `auto` falls back to JS and says why.
 */
export function selectKernel(opts: SelectKernelOptions): KernelSelection {
  const parsed = KernelMode.safeParse(opts.mode ?? 'auto');
  if (!parsed.success) {
    throw new ApiError('engine_unavailable', `MOTIF_KERNELS must be one of ${KernelMode.options.join(', ')}, got '${String(opts.mode)}'`);
  }
  const mode = parsed.data;
  const log = opts.log ?? ((line: string) => console.log(line));
  const js = (why: string): KernelSelection => {
    const kernel = createJsKernel(opts.maxCols === undefined ? {} : { maxCols: opts.maxCols });
    const reason = `kernels: ${kernel.name} (portable JavaScript, 1 thread): ${why}`;
    log(reason);
    return { kernel, kind: 'js', reason };
  };
  if (mode === 'js') return js('MOTIF_KERNELS=js');

  let failure = 'the addon did not say why';
  const addon = opts.loadAddon((r) => (failure = r));
  if (!addon) {
    if (mode === 'native') throw new ApiError('engine_unavailable', `MOTIF_KERNELS=native but the native kernels addon is unavailable: ${failure}`);
    return js(`MOTIF_KERNELS=auto and the native addon is unavailable (${failure})`);
  }
  const kernel = createAddonKernel(addon, opts.maxCols);
  const threads = addon.info.maxThreads > 0 ? Math.min(addon.info.maxThreads, addon.info.threads) : addon.info.threads;
  const reason = `kernels: ${kernel.name} (C++ addon, ${addon.info.simd}, ${threads} thread${threads === 1 ? '' : 's'}): MOTIF_KERNELS=${mode} and the addon loaded from ${addon.info.path}`;
  log(reason);
  return { kernel, kind: 'native', reason };
}

/**
 * The addon as a MatmulKernel, sync and async. Embedding rows are still widened by the JS kernel:
 * one row per token is not worth a native call.
 */
export function createAddonKernel(addon: NativeMatmuls, maxCols?: number): MatmulKernel {
  const js = createJsKernel(maxCols === undefined ? {} : { maxCols });
  return {
    name: `native-${addon.info.simd}`,
    matmul: (y, x, rows, w) => addon.matmul(y, x, w.data, w.dtype, rows, w.cols, w.rows),
    matmulAsync: (y, x, rows, w) => addon.matmulAsync(y, x, w.data, w.dtype, rows, w.cols, w.rows),
    readRow: (w, row, dst, dstOffset) => js.readRow(w, row, dst, dstOffset),
    ...(addon.quantizeQ8 ? { quantizeQ8: nativeQuantizer(addon.quantizeQ8) } : {}),
    ...(addon.packQ8x16 ? { packQ8: nativePacker(addon.packQ8x16) } : {}),
    ...(addon.attend ? { attend: addon.attend } : {}),
    ...(addon.norms ? { norms: addon.norms } : {}),
  };
}

function nativePacker(pack: NonNullable<NativeMatmuls['packQ8x16']>): NonNullable<MatmulKernel['packQ8']> {
  return (w) => (w.dtype === 'Q8_0' && w.rows % 16 === 0 ? { dtype: 'Q8_0x16', data: pack(w.data, w.rows, w.cols), rows: w.rows, cols: w.cols } : w);
}

function nativeQuantizer(quantize: NonNullable<NativeMatmuls['quantizeQ8']>): NonNullable<MatmulKernel['quantizeQ8']> {
  return (w) =>
    w.dtype === 'Q8_0' || w.dtype === 'Q8_0x16' ? w : { dtype: 'Q8_0', data: quantize(w.data, w.dtype, w.rows, w.cols), rows: w.rows, cols: w.cols };
}
