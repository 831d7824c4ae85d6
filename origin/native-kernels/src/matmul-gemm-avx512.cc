// The AVX-512 GEMM: the AVX2 one (matmul-gemm-avx2.cc, same packing and blocking) with a register
// tile twice as wide and twice as tall, 12 rows × 32 outputs in 24 of the 32 zmm registers. Per k
// it issues 2 panel loads and 12 broadcasts for 24 FMAs of 16 lanes: a quarter of the AVX2 tile's
// instructions per multiply-add, which is what counts on cores that split a 512-bit op in two.
// The numbers are the same as on the AVX2 path: f32 products and sums, one accumulator per output
// running over K in order.
#include "cpu.h"
#include "matmul.h"

#ifdef MOTIF_X86_SIMD
#include <immintrin.h>

#include "panel-prefetch.h"

#define MOTIF_AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))

namespace motif {
namespace {

constexpr int64_t kPanel = kGemmOutBlockAvx512;  // outputs per panel: two 16-float vectors
constexpr int64_t kKc = 128;                     // K per chunk of an f32 panel (16 KiB)
constexpr int kRowTile = 12;                     // rows per register tile (24 accumulators)

// y[0..R, 0..cols] = acc on the first K chunk, += on later ones.
template <int R>
MOTIF_AVX512 inline void store(__m512 (&acc)[kRowTile][2], float* y, int64_t ldy, int64_t cols, bool first) {
  for (int i = 0; i < R; ++i) {
    float* yr = y + i * ldy;
    if (cols == kPanel) {
      if (!first) {
        acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(yr));
        acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(yr + 16));
      }
      _mm512_storeu_ps(yr, acc[i][0]);
      _mm512_storeu_ps(yr + 16, acc[i][1]);
    } else {
      alignas(64) float s[kPanel];
      _mm512_store_ps(s, acc[i][0]);
      _mm512_store_ps(s + 16, acc[i][1]);
      for (int64_t j = 0; j < cols; ++j) yr[j] = first ? s[j] : yr[j] + s[j];
    }
  }
}

// Accumulators are named variables, not an array (see matmul-gemm-avx2.cc).
#define MOTIF_ROW(i)                                             \
  if constexpr (R > i) {                                         \
    const __m512 b = _mm512_set1_ps(x[i * ldx + k]);             \
    c##i##0 = _mm512_fmadd_ps(b, w0, c##i##0);                   \
    c##i##1 = _mm512_fmadd_ps(b, w1, c##i##1);                   \
  }
#define MOTIF_OUT(i)      \
  if constexpr (R > i) {  \
    acc[i][0] = c##i##0;  \
    acc[i][1] = c##i##1;  \
  }

// y[0..R, 0..cols] (+)= x[0..R, 0..n] · panelᵀ; assigns on the first K chunk, accumulates after.
template <int R>
MOTIF_AVX512 void tile(const float* x, int64_t ldx, const float* p, int64_t n, float* y, int64_t ldy,
                       int64_t cols, bool first, PanelPrefetch& ahead) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00, c80 = c00, c81 = c00;
  __m512 c90 = c00, c91 = c00, c100 = c00, c101 = c00, c110 = c00, c111 = c00;
  for (int64_t k = 0; k < n; ++k) {
    ahead.step();
    const __m512 w0 = _mm512_load_ps(p + k * kPanel), w1 = _mm512_load_ps(p + k * kPanel + 16);
    MOTIF_ROW(0) MOTIF_ROW(1) MOTIF_ROW(2) MOTIF_ROW(3) MOTIF_ROW(4) MOTIF_ROW(5)
    MOTIF_ROW(6) MOTIF_ROW(7) MOTIF_ROW(8) MOTIF_ROW(9) MOTIF_ROW(10) MOTIF_ROW(11)
  }
  __m512 acc[kRowTile][2];
  MOTIF_OUT(0) MOTIF_OUT(1) MOTIF_OUT(2) MOTIF_OUT(3) MOTIF_OUT(4) MOTIF_OUT(5)
  MOTIF_OUT(6) MOTIF_OUT(7) MOTIF_OUT(8) MOTIF_OUT(9) MOTIF_OUT(10) MOTIF_OUT(11)
  store<R>(acc, y, ldy, cols, first);
}
#undef MOTIF_ROW

// Rows of x times a BF16 pair panel (gemm_pack_bf16_pairs_avx2): each 32-bit word holds two
// consecutive K of one output; the even one widens with a shift, the odd one with a mask. Same
// products and the same order of sums as the f32 panel.
#define MOTIF_ROW(i)                                             \
  if constexpr (R > i) {                                         \
    const __m512 be = _mm512_set1_ps(x[i * ldx + 2 * q]);        \
    const __m512 bo = _mm512_set1_ps(x[i * ldx + 2 * q + 1]);    \
    c##i##0 = _mm512_fmadd_ps(be, e0, c##i##0);                  \
    c##i##1 = _mm512_fmadd_ps(be, e1, c##i##1);                  \
    c##i##0 = _mm512_fmadd_ps(bo, o0, c##i##0);                  \
    c##i##1 = _mm512_fmadd_ps(bo, o1, c##i##1);                  \
  }
#define MOTIF_TAIL(i)                                            \
  if constexpr (R > i) {                                         \
    const __m512 be = _mm512_set1_ps(x[i * ldx + 2 * q]);        \
    c##i##0 = _mm512_fmadd_ps(be, e0, c##i##0);                  \
    c##i##1 = _mm512_fmadd_ps(be, e1, c##i##1);                  \
  }

template <int R>
MOTIF_AVX512 void tile_pairs(const float* x, int64_t ldx, const uint32_t* pp, int64_t n, float* y,
                             int64_t ldy, int64_t cols, bool first, PanelPrefetch& ahead) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00, c80 = c00, c81 = c00;
  __m512 c90 = c00, c91 = c00, c100 = c00, c101 = c00, c110 = c00, c111 = c00;
  const __m512i high = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  const int64_t pairs = n / 2;
  int64_t q = 0;
  for (; q < pairs; ++q) {
    ahead.step();
    const __m512i d0 = _mm512_load_si512(pp + q * kPanel), d1 = _mm512_load_si512(pp + q * kPanel + 16);
    const __m512 e0 = _mm512_castsi512_ps(_mm512_slli_epi32(d0, 16));
    const __m512 e1 = _mm512_castsi512_ps(_mm512_slli_epi32(d1, 16));
    const __m512 o0 = _mm512_castsi512_ps(_mm512_and_si512(d0, high));
    const __m512 o1 = _mm512_castsi512_ps(_mm512_and_si512(d1, high));
    MOTIF_ROW(0) MOTIF_ROW(1) MOTIF_ROW(2) MOTIF_ROW(3) MOTIF_ROW(4) MOTIF_ROW(5)
    MOTIF_ROW(6) MOTIF_ROW(7) MOTIF_ROW(8) MOTIF_ROW(9) MOTIF_ROW(10) MOTIF_ROW(11)
  }
  if (n % 2 != 0) {
    const __m512i d0 = _mm512_load_si512(pp + q * kPanel), d1 = _mm512_load_si512(pp + q * kPanel + 16);
    const __m512 e0 = _mm512_castsi512_ps(_mm512_slli_epi32(d0, 16));
    const __m512 e1 = _mm512_castsi512_ps(_mm512_slli_epi32(d1, 16));
    MOTIF_TAIL(0) MOTIF_TAIL(1) MOTIF_TAIL(2) MOTIF_TAIL(3) MOTIF_TAIL(4) MOTIF_TAIL(5)
    MOTIF_TAIL(6) MOTIF_TAIL(7) MOTIF_TAIL(8) MOTIF_TAIL(9) MOTIF_TAIL(10) MOTIF_TAIL(11)
  }
  __m512 acc[kRowTile][2];
  MOTIF_OUT(0) MOTIF_OUT(1) MOTIF_OUT(2) MOTIF_OUT(3) MOTIF_OUT(4) MOTIF_OUT(5)
  MOTIF_OUT(6) MOTIF_OUT(7) MOTIF_OUT(8) MOTIF_OUT(9) MOTIF_OUT(10) MOTIF_OUT(11)
  store<R>(acc, y, ldy, cols, first);
}
#undef MOTIF_ROW
#undef MOTIF_TAIL
#undef MOTIF_OUT

using TileFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t, bool, PanelPrefetch&);
constexpr TileFn kTiles[kRowTile] = {tile<1>, tile<2>, tile<3>, tile<4>, tile<5>,  tile<6>,
                                     tile<7>, tile<8>, tile<9>, tile<10>, tile<11>, tile<12>};
using PairTileFn = void (*)(const float*, int64_t, const uint32_t*, int64_t, float*, int64_t, int64_t, bool, PanelPrefetch&);
constexpr PairTileFn kPairTiles[kRowTile] = {tile_pairs<1>, tile_pairs<2>,  tile_pairs<3>,  tile_pairs<4>,
                                             tile_pairs<5>, tile_pairs<6>,  tile_pairs<7>,  tile_pairs<8>,
                                             tile_pairs<9>, tile_pairs<10>, tile_pairs<11>, tile_pairs<12>};

}  // namespace

bool matmul_avx512_compiled() { return true; }

void matmul_slice_gemm_avx512(const Matmul& m, int64_t o_begin, int64_t o_end) {
  const bool bf16 = m.wtype == WeightType::BF16;
  // BF16 packs as pairs (2 bytes per weight), the others widened to f32: both fill 16 KiB.
  alignas(64) float panel[kKc * kPanel];
  alignas(64) uint32_t pairs[kKc * kPanel / 2];
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
bool matmul_avx512_compiled() { return false; }
void matmul_slice_gemm_avx512(const Matmul& m, int64_t o_begin, int64_t o_end) {
  matmul_slice_scalar(m, o_begin, o_end);
}
}  // namespace motif

#endif
