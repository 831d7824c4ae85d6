// y = x · Wᵀ for F32 activations and F32/BF16/F16 weights (the one primitive the engine's
// linear layers need). x is rows×in, W is out×in (PyTorch's nn.Linear layout), y is rows×out;
// all row-major and densely packed.
#pragma once

#include <cstdint>

namespace motif {

enum class WeightType : int { F32 = 0, BF16 = 1, F16 = 2 };

struct Matmul {
  float* y;
  const float* x;
  const void* w;  // float* for F32, uint16_t* for BF16/F16
  WeightType wtype;
  int64_t rows;
  int64_t in;
  int64_t out;
};

// One thread's share: y[r, o] for every row r and o in [o_begin, o_end). Each slice reads its
// rows of W from memory once, whatever the number of rows of x.
using SliceFn = void (*)(const Matmul& m, int64_t o_begin, int64_t o_end);

void matmul_slice_scalar(const Matmul& m, int64_t o_begin, int64_t o_end);

// AVX2 + FMA + F16C slice; call only when cpu_has_avx2_fma_f16c() and matmul_avx2_compiled().
void matmul_slice_avx2(const Matmul& m, int64_t o_begin, int64_t o_end);
bool matmul_avx2_compiled();

// The packed AVX2 GEMM (matmul-gemm-avx2.cc) for kGemmMinRows rows and more; same conditions.
// Its slices start on multiples of kGemmOutBlock outputs (one panel).
void matmul_slice_gemm_avx2(const Matmul& m, int64_t o_begin, int64_t o_end);
constexpr int64_t kGemmOutBlock = 16;
constexpr int64_t kGemmMinRows = 16;

// Outputs per block of the thread split and of the SIMD tile (W rows processed together).
constexpr int64_t kOutBlock = 4;

// Elements of K processed per pass over the output slice. The chunk of x for all rows
// (rows × chunk floats) then stays in L1 (few rows) or L2 (many) while the slice's W rows stream
// past it; the floor of 512 keeps the per-chunk reduction and y updates small when there are many
// rows (measured: a 256 floor lost ~10% at 16+ rows, 1024 gained nothing clear over 512).
constexpr int64_t k_chunk(int64_t rows, int64_t in) {
  constexpr int64_t kL1Floats = 16 * 1024 / 4;
  int64_t kc = kL1Floats / (rows > 0 ? rows : 1);
  if (kc < 512) kc = 512;
  kc &= ~int64_t{7};  // whole SIMD vectors, so only the last chunk has a scalar tail
  return kc < in ? kc : in;
}

// Runs the whole matmul, splitting the outputs over at most `max_threads` threads of the shared
// pool (0 = all). `allow_simd` = false forces the portable path (tests, comparisons).
void matmul(const Matmul& m, int max_threads, bool allow_simd);

// Which path `matmul` takes with allow_simd = true: "avx2" or "scalar" (the AVX2 name covers
// both its GEMV tiles and the GEMM, chosen by the number of rows).
const char* matmul_simd_name();

}  // namespace motif
