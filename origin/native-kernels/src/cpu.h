// CPU facts the kernels choose by at run time (never at compile time, so one binary fits every x86-64).
#pragma once

namespace motif {

// True when the CPU runs AVX2 + FMA + F16C code (the SIMD matmul path).
bool cpu_has_avx2_fma_f16c();

// Cores this process may use: its affinity mask, capped by a cgroup CPU quota; at least 1.
int available_cores();

// Spin-wait hint for busy loops (PAUSE on x86, YIELD on arm64).
void cpu_relax();

}  // namespace motif
