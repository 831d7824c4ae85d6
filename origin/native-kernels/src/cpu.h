// CPU facts the kernels choose by at run time (never at compile time, so one binary fits every x86-64).
#pragma once

// x86 SIMD code is compiled (and picked at run time) with GCC/clang on x86; everywhere else, or
// with -DMOTIF_KERNELS_PORTABLE (to test the portable build on an x86 box), only portable C++.
#if !defined(MOTIF_KERNELS_PORTABLE) && (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__))
#define MOTIF_X86_SIMD 1
#endif

namespace motif {

// True when the CPU runs AVX2 + FMA + F16C code (the SIMD matmul path).
bool cpu_has_avx2_fma_f16c();

// True when the CPU (and OS) run AVX-512F code (the wide GEMM).
bool cpu_has_avx512f();

// True when the CPU (and OS) run AVX-512 VNNI code (with BW and VL): the Q8_0x16 kernel.
bool cpu_has_avx512_vnni();

// True when the CPU and OS run AMX-BF16 tile code (and AVX512-BF16, its packing): on Linux this
// asks the kernel, once, for the process's permission to use the tile registers.
bool cpu_has_amx_bf16();

// Cores this process may use: its affinity mask, capped by a cgroup CPU quota; at least 1.
int available_cores();

// Spin-wait hint for busy loops (PAUSE on x86, YIELD on arm64).
void cpu_relax();

}  // namespace motif
