/**
 * The kernel matrix of the forward-pass tests: every golden test runs on the portable JS kernel
 * and, when the addon is built, on the native one (through the same `selectNodeKernel` the
 * engine uses). MOTIF_REQUIRE_KERNELS_ADDON=1 turns a missing addon into a failure instead of a
 * shorter matrix; MOTIF_KERNELS_ADDON_PATH tests another build.
 */
import type { MatmulKernel } from '../../../engine/native/kernels/matmul.ts';
import { selectNodeKernel } from './node-kernels.ts';

export interface TestKernel {
  name: 'js' | 'native';
  kernel: MatmulKernel;
}

/** The kernels to run golden tests under (JS always, native when available or required). */
export function testKernels(): TestKernel[] {
  const quiet = () => {};
  const out: TestKernel[] = [{ name: 'js', kernel: selectNodeKernel({ mode: 'js', log: quiet }).kernel }];
  const path = process.env.MOTIF_KERNELS_ADDON_PATH;
  const mode = process.env.MOTIF_REQUIRE_KERNELS_ADDON === '1' ? 'native' : 'auto';
  const s = selectNodeKernel({ mode, log: quiet, ...(path ? { addonPath: path } : {}) });
  if (s.kind === 'native') out.push({ name: 'native', kernel: s.kernel });
  return out;
}
