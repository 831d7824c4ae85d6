/**
 * The Node adapter of kernel selection: `selectKernel` with the C++ addon loader plugged in.
 * Composition roots (the origin's engine factory, the CLI, benchmarks) call this; the forward
 * pass itself only ever sees a MatmulKernel.
 */

import { type KernelSelection, selectKernel } from '../../../engine/native/kernels/select-kernel.ts';
import { type KernelsAddonOptions, loadKernelsAddon } from './kernels-addon/kernels-addon.ts';

export interface NodeKernelOptions {
  /** `auto` | `js` | `native` (MOTIF_KERNELS); default auto. */
  mode?: string;
  /** Addon binary to load instead of the install-time build (tests, other builds). */
  addonPath?: string;
  /** Cap on the addon's SIMD path (`avx2` on an AVX-512 CPU tests the AVX2 GEMM); default auto. */
  simd?: KernelsAddonOptions['simd'];
  /** Widest weight row, for the JS kernel's scratch. */
  maxCols?: number;
  log?: (line: string) => void;
}

/** Pick the kernel for this process (see selectKernel); logs one line naming it. */
export function selectNodeKernel(opts: NodeKernelOptions = {}): KernelSelection {
  return selectKernel({
    ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
    ...(opts.maxCols !== undefined ? { maxCols: opts.maxCols } : {}),
    ...(opts.log !== undefined ? { log: opts.log } : {}),
    // The loader's message ends with its own fallback note; the selection says what happens instead.
    loadAddon: (why) =>
      loadKernelsAddon({ ...(opts.addonPath !== undefined ? { path: opts.addonPath } : {}), ...(opts.simd !== undefined ? { simd: opts.simd } : {}) }, (m) =>
        why(m.replace(/; using the portable TS kernels$/, '')),
      ),
  });
}
