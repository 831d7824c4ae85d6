// The AVX2 + FMA GEMM for many rows of x (prefill chunks, decode batches), where the matmul is
// compute bound and the dot-product tiles of matmul-avx2.cc spend more issue slots on loading and
// widening W than on multiply-adds. Classic packed GEMM (as in BLIS / tinyBLAS), per thread over
// its slice of outputs:
//   1. K chunks (512 for BF16, 256 for F32/F16): the chunk of x for all rows stays in L2 while
//      the thread's panels pass.
//   2. Panels of kPanel = 16 outputs: the panel's W rows × the K chunk are transposed once into
//      a 16 KiB buffer (it stays in L1) and reused by every tile of rows. BF16 keeps its bits,
//      packed as 32-bit words of two consecutive K ([k/2][16] words); F32/F16 are widened to an
//      f32 panel [k][16].
//   3. A register tile of up to 6 rows × 16 outputs: 12 accumulators; per k, two panel vectors
//      and six broadcasts of x feed 12 FMAs, with no horizontal sums.
// Packing is shared by all rows of x, so it is noise at prefill sizes and a modest share at
// 8–16 rows; W itself is never copied or rearranged in memory.
#include "cpu.h"
#include "matmul.h"

#ifdef MOTIF_X86_SIMD
#include <immintrin.h>

#include <cstring>

#include "panel-prefetch.h"
#include "weights.h"

#define MOTIF_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace motif {
namespace {

constexpr int64_t kPanel = kGemmOutBlock;  // outputs per panel: two 8-float vectors
constexpr int64_t kKc = 256;               // K per chunk of an f32 panel (16 KiB); BF16 takes 2×
constexpr int kRowTile = 6;                // rows per register tile (12 accumulators + 3 spare)

MOTIF_AVX2 inline __m256 widen8(const float* p) { return _mm256_loadu_ps(p); }
MOTIF_AVX2 inline __m256 widen8(const Bf16* p) {
  __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
MOTIF_AVX2 inline __m256 widen8(const F16* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Little-endian: the low half of the word is W[j, k], the high half W[j, k + 1].
inline uint32_t bf16_pair(const Bf16* p) {
  uint32_t u;
  std::memcpy(&u, p, sizeof u);
  return u;
}

// r[j] = rows j of an 8×8 block → r[k] = its columns.
MOTIF_AVX2 inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {
    u[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
    u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
    u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
    u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
    r[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
  }
}

template <class T>
MOTIF_AVX2 void pack_panel(const T* w, int64_t ldw, int64_t cols, int64_t n, int64_t width, float* p) {
  const int64_t n8 = n & ~int64_t{7};
  for (int64_t j0 = 0; j0 < width; j0 += 8) {
    if (cols - j0 >= 8) {
      for (int64_t k = 0; k < n8; k += 8) {
        __m256 r[8];
        for (int j = 0; j < 8; ++j) r[j] = widen8(w + (j0 + j) * ldw + k);
        transpose8(r);
        for (int i = 0; i < 8; ++i) _mm256_store_ps(p + (k + i) * width + j0, r[i]);
      }
      for (int64_t k = n8; k < n; ++k)
        for (int j = 0; j < 8; ++j) p[k * width + j0 + j] = to_f32(w[(j0 + j) * ldw + k]);
    } else {
      for (int64_t k = 0; k < n; ++k)
        for (int64_t j = 0; j < 8; ++j) p[k * width + j0 + j] = j0 + j < cols ? to_f32(w[(j0 + j) * ldw + k]) : 0.0f;
    }
  }
}

// y[0..R, 0..cols] = acc on the first K chunk, += on later ones.
template <int R>
MOTIF_AVX2 inline void store(__m256 (&acc)[kRowTile][2], float* y, int64_t ldy, int64_t cols, bool first) {
  for (int i = 0; i < R; ++i) {
    float* yr = y + i * ldy;
    if (cols == kPanel) {
      if (!first) {
        acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(yr));
        acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(yr + 8));
      }
      _mm256_storeu_ps(yr, acc[i][0]);
      _mm256_storeu_ps(yr + 8, acc[i][1]);
    } else {
      alignas(32) float s[kPanel];
      _mm256_store_ps(s, acc[i][0]);
      _mm256_store_ps(s + 8, acc[i][1]);
      for (int64_t j = 0; j < cols; ++j) yr[j] = first ? s[j] : yr[j] + s[j];
    }
  }
}

// Accumulators are named variables, not an array: GCC keeps an array of vectors on the stack
// (a store per FMA) when its loops are unrolled after scalar replacement.
#define MOTIF_ROW(i)                                         \
  if constexpr (R > i) {                                     \
    const __m256 b = _mm256_broadcast_ss(x + i * ldx + k);   \
    c##i##0 = _mm256_fmadd_ps(b, w0, c##i##0);               \
    c##i##1 = _mm256_fmadd_ps(b, w1, c##i##1);               \
  }
#define MOTIF_OUT(i)      \
  if constexpr (R > i) {  \
    acc[i][0] = c##i##0;  \
    acc[i][1] = c##i##1;  \
  }

// y[0..R, 0..cols] (+)= x[0..R, 0..n] · panelᵀ; assigns on the first K chunk, accumulates after.
template <int R>
MOTIF_AVX2 void tile(const float* x, int64_t ldx, const float* p, int64_t n, float* y, int64_t ldy,
                     int64_t cols, bool first, PanelPrefetch& ahead) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t k = 0; k < n; ++k) {
    ahead.step();
    const __m256 w0 = _mm256_load_ps(p + k * kPanel), w1 = _mm256_load_ps(p + k * kPanel + 8);
    MOTIF_ROW(0) MOTIF_ROW(1) MOTIF_ROW(2) MOTIF_ROW(3) MOTIF_ROW(4) MOTIF_ROW(5)
  }
  __m256 acc[kRowTile][2];
  MOTIF_OUT(0) MOTIF_OUT(1) MOTIF_OUT(2) MOTIF_OUT(3) MOTIF_OUT(4) MOTIF_OUT(5)
  store<R>(acc, y, ldy, cols, first);
}
#undef MOTIF_ROW

// Rows of x times a BF16 pair panel (gemm_pack_bf16_pairs_avx2): each 32-bit word holds two
// consecutive K of one output; the even one widens with a shift left, the odd one by clearing
// the low half. The two halves go one after the other, reloading the words from L1, so the tile still fits the 16
// vector registers. Same products and order of sums as the f32 panel.
#define MOTIF_ROW(i, kk)                                     \
  if constexpr (R > i) {                                     \
    const __m256 b = _mm256_broadcast_ss(x + i * ldx + kk);  \
    c##i##0 = _mm256_fmadd_ps(b, w0, c##i##0);               \
    c##i##1 = _mm256_fmadd_ps(b, w1, c##i##1);               \
  }
#define MOTIF_ROWS(kk) MOTIF_ROW(0, kk) MOTIF_ROW(1, kk) MOTIF_ROW(2, kk) MOTIF_ROW(3, kk) MOTIF_ROW(4, kk) MOTIF_ROW(5, kk)

template <int R>
MOTIF_AVX2 void tile_pairs(const float* x, int64_t ldx, const uint32_t* pp, int64_t n, float* y, int64_t ldy,
                           int64_t cols, bool first, PanelPrefetch& ahead) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const int64_t pairs = n / 2;
  int64_t q = 0;
  for (; q < pairs; ++q) {
    ahead.step();
    const __m256i* d = reinterpret_cast<const __m256i*>(pp + q * kPanel);
    __m256 w0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_load_si256(d), 16));
    __m256 w1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_load_si256(d + 1), 16));
    MOTIF_ROWS(2 * q)
    // Clearing the low half with two shifts rather than an AND keeps a register free for the tile.
    w0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(_mm256_load_si256(d), 16), 16));
    w1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(_mm256_load_si256(d + 1), 16), 16));
    MOTIF_ROWS(2 * q + 1)
  }
  if (n % 2 != 0) {
    const __m256i* d = reinterpret_cast<const __m256i*>(pp + q * kPanel);
    const __m256 w0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_load_si256(d), 16));
    const __m256 w1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_load_si256(d + 1), 16));
    MOTIF_ROWS(2 * q)
  }
  __m256 acc[kRowTile][2];
  MOTIF_OUT(0) MOTIF_OUT(1) MOTIF_OUT(2) MOTIF_OUT(3) MOTIF_OUT(4) MOTIF_OUT(5)
  store<R>(acc, y, ldy, cols, first);
}
#undef MOTIF_ROWS
#undef MOTIF_ROW
#undef MOTIF_OUT

using TileFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t, bool, PanelPrefetch&);
constexpr TileFn kTiles[kRowTile] = {tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};
using PairTileFn = void (*)(const float*, int64_t, const uint32_t*, int64_t, float*, int64_t, int64_t, bool, PanelPrefetch&);
constexpr PairTileFn kPairTiles[kRowTile] = {tile_pairs<1>, tile_pairs<2>, tile_pairs<3>,
                                             tile_pairs<4>, tile_pairs<5>, tile_pairs<6>};

}  // namespace

MOTIF_AVX2 void gemm_pack_bf16_pairs_avx2(const Matmul& m, int64_t o, int64_t k0, int64_t cols, int64_t n, int64_t width,
                                          uint32_t* pp) {
  // Pairs of consecutive K of one W row are one 32-bit word, so this is an 8×8 transpose of
  // 32-bit words: half the shuffles per weight of the f32 panel, and no widening.
  const int64_t ldw = m.in;
  const Bf16* w = static_cast<const Bf16*>(m.w) + o * ldw + k0;
  const int64_t pairs = n / 2, p8 = pairs & ~int64_t{7};
  for (int64_t j0 = 0; j0 < width; j0 += 8) {
    const int64_t live = cols - j0 < 8 ? (cols - j0 > 0 ? cols - j0 : 0) : 8;
    if (live == 8) {
      for (int64_t q = 0; q < p8; q += 8) {
        __m256 r[8];
        for (int j = 0; j < 8; ++j)
          r[j] = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + (j0 + j) * ldw + 2 * q)));
        transpose8(r);
        for (int i = 0; i < 8; ++i) _mm256_store_ps(reinterpret_cast<float*>(pp + (q + i) * width + j0), r[i]);
      }
    }
    for (int64_t q = live == 8 ? p8 : 0; q < pairs; ++q)
      for (int64_t j = 0; j < 8; ++j) pp[q * width + j0 + j] = j < live ? bf16_pair(w + (j0 + j) * ldw + 2 * q) : 0;
    // Odd n: the last K alone, its partner weight 0 (the tile never reads x past n).
    if (n % 2 != 0)
      for (int64_t j = 0; j < 8; ++j) pp[pairs * width + j0 + j] = j < live ? w[(j0 + j) * ldw + n - 1].bits : 0;
  }
}

void gemm_pack_panel_avx2(const Matmul& m, int64_t o, int64_t k0, int64_t cols, int64_t n, int64_t width, float* p) {
  switch (m.wtype) {
    case WeightType::F32: return pack_panel(static_cast<const float*>(m.w) + o * m.in + k0, m.in, cols, n, width, p);
    case WeightType::BF16: return pack_panel(static_cast<const Bf16*>(m.w) + o * m.in + k0, m.in, cols, n, width, p);
    case WeightType::F16: return pack_panel(static_cast<const F16*>(m.w) + o * m.in + k0, m.in, cols, n, width, p);
    case WeightType::Q8_0:
    case WeightType::Q8_0x16: break;  // never packed: matmul() sends Q8_0 to its own slices
  }
}

void matmul_slice_gemm_avx2(const Matmul& m, int64_t o_begin, int64_t o_end) {
  const bool bf16 = m.wtype == WeightType::BF16;
  // BF16 packs as pairs (2 bytes per weight), the others widened to f32: both fill 16 KiB.
  alignas(32) float panel[kKc * kPanel];
  alignas(32) uint32_t pairs[kKc * kPanel / 2];
  const int64_t kc = bf16 ? 2 * kKc : kKc;
  for (int64_t k0 = 0; k0 < m.in; k0 += kc) {
    const int64_t n = m.in - k0 < kc ? m.in - k0 : kc;
    const bool first = k0 == 0;
    for (int64_t o = o_begin; o < o_end; o += kPanel) {
      const int64_t cols = o_end - o < kPanel ? o_end - o : kPanel;
      if (bf16)
        gemm_pack_bf16_pairs_avx2(m, o, k0, cols, n, kPanel, pairs);
      else
        gemm_pack_panel_avx2(m, o, k0, cols, n, kPanel, panel);
      // The first row tile asks for the next panel's lines (panel-prefetch.h), one share per k step.
      PanelPrefetch ahead = next_panel(m, o_begin, o_end, o, k0, kc, kPanel, bf16 ? n / 2 : n);
      for_row_tiles(m.rows, kRowTile, [&](int64_t r, int64_t rr) {
        const float* x = m.x + r * m.in + k0;
        float* y = m.y + r * m.out + o;
        if (bf16)
          kPairTiles[rr - 1](x, m.in, pairs, n, y, m.out, cols, first, ahead);
        else
          kTiles[rr - 1](x, m.in, panel, n, y, m.out, cols, first, ahead);
      });
    }
  }
}

}  // namespace motif

#else  // no x86 SIMD build: the dispatcher never picks this path

namespace motif {
void gemm_pack_panel_avx2(const Matmul&, int64_t, int64_t, int64_t, int64_t, int64_t, float*) {}
void gemm_pack_bf16_pairs_avx2(const Matmul&, int64_t, int64_t, int64_t, int64_t, int64_t, uint32_t*) {}
void matmul_slice_gemm_avx2(const Matmul& m, int64_t o_begin, int64_t o_end) {
  matmul_slice_scalar(m, o_begin, o_end);
}
}  // namespace motif

#endif
