// y = x · Wᵀ for F32 activations and F32/BF16/F16/Q8_0 weights (the one primitive the engine's
// linear layers need). x is rows×in, W is out×in (PyTorch's nn.Linear layout), y is rows×out;
// all row-major and densely packed.
#pragma once

#include <cstdint>

namespace motif {

enum class WeightType : int { F32 = 0, BF16 = 1, F16 = 2, Q8_0 = 3, Q8_0x16 = 4 };

// Q8_0 (llama.cpp's block_q8_0 byte for byte): each row of W is in/32 blocks of 34 bytes, an
// IEEE half scale d then 32 int8 q, with w ≈ d·q. `in` must be a multiple of kQ8Block.
constexpr int64_t kQ8Block = 32;
constexpr int64_t kQ8BlockBytes = 2 + kQ8Block;
// Q8_0x16 (matmul-q8x16.cc): the same blocks, those of 16 consecutive rows regrouped for AVX-512
// VNNI; `out` must be a multiple of kQ8x16Rows.
constexpr int64_t kQ8x16Rows = 16;

struct Matmul {
  float* y;
  const float* x;
  const void* w;  // float* for F32, uint16_t* for BF16/F16, Q8_0 blocks (bytes)
  WeightType wtype;
  int64_t rows;
  int64_t in;
  int64_t out;
  // Q8_0 and Q8_0x16 only, filled by `matmul` before the threads start: x quantised the same way per block of
  // 32 (xq rows×in int8, xd rows×in/32 scales), so the slices run integer dot products.
  const int8_t* xq = nullptr;
  const float* xd = nullptr;
  // Q8_0x16 only: 128·Σ xq per block (rows×in/32), the excess of its unsigned weights.
  const int32_t* xs = nullptr;
  // AMX only, filled by `matmul`: x split into BF16 parts and packed into tiles (amx_pack_x).
  const uint16_t* xa = nullptr;
};

// One thread's share: y[r, o] for every row r and o in [o_begin, o_end). Each slice reads its
// rows of W from memory once, whatever the number of rows of x.
using SliceFn = void (*)(const Matmul& m, int64_t o_begin, int64_t o_end);

void matmul_slice_scalar(const Matmul& m, int64_t o_begin, int64_t o_end);

// AVX2 + FMA + F16C slice; call only when cpu_has_avx2_fma_f16c() and matmul_avx2_compiled().
void matmul_slice_avx2(const Matmul& m, int64_t o_begin, int64_t o_end);
bool matmul_avx2_compiled();

// Q8_0 slices (matmul-q8.cc), for any number of rows; they read m.xq / m.xd. The AVX2 one has
// the same conditions as matmul_slice_avx2.
void matmul_slice_q8_scalar(const Matmul& m, int64_t o_begin, int64_t o_end);
void matmul_slice_q8_avx2(const Matmul& m, int64_t o_begin, int64_t o_end);
// xq[k] = round(x[k] / d_b) and xd[b] = d_b = max|x in block b| / 127 (0 for an all-zero block),
// for n (a multiple of kQ8Block) values; halves round away from zero.
void quantize_q8_blocks(const float* x, int64_t n, int8_t* xq, float* xd);
// The same, bit for bit, with AVX2 (same conditions as matmul_slice_avx2).
void quantize_q8_blocks_avx2(const float* x, int64_t n, int8_t* xq, float* xd);

// Q8_0x16 (matmul-q8x16.cc): q8 (Q8_0 blocks, rows a multiple of kQ8x16Rows) regrouped into out
// (the same size), on up to max_threads threads; and its slices, which read m.xq, m.xd and m.xs.
// The VNNI one needs cpu_has_avx512_vnni().
void pack_q8x16(const uint8_t* q8, int64_t rows, int64_t cols, uint8_t* out, int max_threads);
void matmul_slice_q8x16_scalar(const Matmul& m, int64_t o_begin, int64_t o_end);
void matmul_slice_q8x16_vnni(const Matmul& m, int64_t o_begin, int64_t o_end);

// W (F32/BF16/F16, rows × cols, cols a multiple of kQ8Block) → Q8_0 blocks in out, on up to
// max_threads threads of the pool (0 = all). Bit for bit what the engine's JS quantizeQ8 writes
// (kernels/q8.ts): d = f16(max|w|/127), q = floor(w·(1/d) + 0.5) in double, clamped to ±127.
// False (out partly written) when a weight is NaN or a scale overflows an f16, as JS refuses.
bool quantize_weights_q8(const void* w, WeightType wtype, int64_t rows, int64_t cols, uint8_t* out, int max_threads);

// The packed GEMMs (matmul-gemm-*.cc) for kGemmMinRows (AVX-512: kGemmMinRowsAvx512) rows and more. Their slices start on
// multiples of one panel of outputs. AVX2: the same conditions as above; AVX-512: also
// cpu_has_avx512f() and matmul_avx512_compiled().
void matmul_slice_gemm_avx2(const Matmul& m, int64_t o_begin, int64_t o_end);
void matmul_slice_gemm_avx512(const Matmul& m, int64_t o_begin, int64_t o_end);
bool matmul_avx512_compiled();
constexpr int64_t kGemmOutBlock = 16;
constexpr int64_t kGemmOutBlockAvx512 = 32;
// Fewest rows for the GEMM, measured: below it the GEMV tiles match or beat it (the panel
// packing is not yet paid back); the AVX-512 tile pays it back sooner.
constexpr int64_t kGemmMinRows = 16;
constexpr int64_t kGemmMinRowsAvx512 = 8;

// panel[k·width + j] = W[o + j, k0 + k] widened to f32, for k < n and j < cols (zeros for
// cols ≤ j < width; width a multiple of 8). The GEMMs' packing step; AVX2 code.
void gemm_pack_panel_avx2(const Matmul& m, int64_t o, int64_t k0, int64_t cols, int64_t n, int64_t width, float* panel);
// BF16 only: pairs[q·width + j] = the raw bits of W[o + j, k0 + 2q] (low half) and
// W[o + j, k0 + 2q + 1] (high half) for q < ⌈n/2⌉; an odd n leaves the last high half 0.
void gemm_pack_bf16_pairs_avx2(const Matmul& m, int64_t o, int64_t k0, int64_t cols, int64_t n, int64_t width, uint32_t* pairs);

// The AMX GEMM (matmul-amx.cc) for BF16 weights and kAmxMinRows rows and more, with `in` and `out`
// multiples of 32; its slices start on multiples of kAmxOutBlock. Call only when cpu_has_amx_bf16()
// and matmul_amx_compiled(), after amx_pack_x has filled m.xa (amx_packed_x_size(rows, in)
// elements) with x split into kAmxParts BF16 parts.
void matmul_slice_amx(const Matmul& m, int64_t o_begin, int64_t o_end);
bool matmul_amx_compiled();
int64_t amx_packed_x_size(int64_t rows, int64_t in);
void amx_pack_x(const float* x, int64_t rows, int64_t in, uint16_t* xa, int max_threads);
constexpr int kAmxParts = 3;
constexpr int64_t kAmxOutBlock = 32;
// Measured: at 32 rows the AMX tiles already beat the AVX-512 GEMM; below, W's read dominates.
constexpr int64_t kAmxMinRows = 32;

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

// Calls tile(r, rr) for row tiles covering [0, rows), each of at most `most` rows and as even as
// possible (16 rows with 12-row tiles are 8 + 8, not 12 + 4: a short tile reuses each panel
// vector fewer times).
template <class Fn>
inline void for_row_tiles(int64_t rows, int64_t most, Fn&& tile) {
  const int64_t tiles = (rows + most - 1) / most;
  const int64_t base = rows / tiles, extra = rows % tiles;
  for (int64_t t = 0, r = 0; t < tiles; ++t) {
    const int64_t rr = base + (t < extra ? 1 : 0);
    tile(r, rr);
    r += rr;
  }
}

// The widest instruction set `matmul` may use; it takes the widest the CPU has up to that.
// Amx adds the AMX GEMM for BF16 weights to the AVX-512 paths.
enum class Simd : int { Scalar = 0, Avx2 = 1, Avx512 = 2, Amx = 3 };

// Runs the whole matmul, splitting the outputs over at most `max_threads` threads of the shared
// pool (0 = all). `max_simd` below the CPU's best forces a narrower path (tests, comparisons).
void matmul(const Matmul& m, int max_threads, Simd max_simd);

// The widest path this CPU runs: AVX-512 adds the GEMM for many rows (and, with VNNI, the Q8_0x16
// kernel), AMX the BF16 GEMM for 32+ rows; fewer rows of BF16/F16/F32 take the AVX2 code on these
// CPUs too (memory bound: wider vectors would not read W any faster).
Simd cpu_simd();
const char* simd_name(Simd s);

}  // namespace motif
