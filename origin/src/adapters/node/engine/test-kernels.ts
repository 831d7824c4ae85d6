/**
 * The kernel matrix of the forward-pass tests: every golden test runs on the portable JS kernel
 * and, when the addon is built, on the native one (through the same `selectNodeKernel` the
 * engine uses), plus the native one capped at AVX-512 on AMX CPUs and at AVX2 on AVX-512 CPUs, so
 * every GEMM meets the fixtures. MOTIF_REQUIRE_KERNELS_ADDON=1 turns a missing addon into a failure instead of a
 * shorter matrix; MOTIF_KERNELS_ADDON_PATH tests another build.
 */
import type { MatmulKernel } from '../../../engine/native/kernels/matmul.ts';
import { selectNodeKernel } from './node-kernels.ts';

export interface TestKernel {
  name: 'js' | 'native' | 'native-avx512' | 'native-avx2';
  kernel: MatmulKernel;
}

/** The kernels to run golden tests under (JS always, native when available or required). */
export function testKernels(): TestKernel[] {
  const quiet = () => {};
  const out: TestKernel[] = [{ name: 'js', kernel: selectNodeKernel({ mode: 'js', log: quiet }).kernel }];
  const path = process.env.MOTIF_KERNELS_ADDON_PATH;
  const mode = process.env.MOTIF_REQUIRE_KERNELS_ADDON === '1' ? 'native' : 'auto';
  const s = selectNodeKernel({ mode, log: quiet, ...(path ? { addonPath: path } : {}) });
  if (s.kind !== 'native') return out;
  out.push({ name: 'native', kernel: s.kernel });
  const capped = (simd: 'avx512' | 'avx2') => selectNodeKernel({ mode, log: quiet, simd, ...(path ? { addonPath: path } : {}) }).kernel;
  if (s.kernel.name === 'native-amx') out.push({ name: 'native-avx512', kernel: capped('avx512') });
  if (s.kernel.name === 'native-amx' || s.kernel.name === 'native-avx512') out.push({ name: 'native-avx2', kernel: capped('avx2') });
  return out;
}
