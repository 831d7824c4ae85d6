// The AVX2 + FMA + F16C path. Every function here carries a target attribute instead of the
// whole file being built with -mavx2, so the binary still loads on CPUs without AVX2 (the
// dispatcher never calls in here on those).
//
// One or two rows of x with a short K take the sequential `stream` path (below). Otherwise,
// blocking from the outside in (per thread, over its slice of outputs):
//   1. K chunks (k_chunk): the chunk of x for all rows stays in L1 while W streams past it.
//   2. Blocks of 4 outputs: 4 rows of W, each chunk of them read from memory exactly once and
//      reused from L1 by every group of x rows.
//   3. A register tile of up to 3 x rows × 4 W rows: 12 vector accumulators, each x vector and
//      each converted W vector loaded once per 8 elements of K and used 4 resp. 3 times.
// 16-bit weights are widened in registers inside the tile. Widening a block once into an f32
// scratch buffer instead was measured slower up to 64 rows: the conversion is two cheap uops per
// 8 weights, while the extra store and reload pass costs more than it saves.
#include "cpu.h"
#include "matmul.h"

#ifdef MOTIF_X86_SIMD
#include <immintrin.h>

#include "weights.h"

#define MOTIF_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace motif {
namespace {

// Eight consecutive weights widened to floats, by storage type.
MOTIF_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
MOTIF_AVX2 inline __m256 load8(const Bf16* p) {
  __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
MOTIF_AVX2 inline __m256 load8(const F16* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

MOTIF_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The four horizontal sums of a, b, c, d in one vector [Σa, Σb, Σc, Σd].
MOTIF_AVX2 inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

// y[0..R, 0..C] (+)= x[0..R, 0..n] · W[0..C, 0..n]ᵀ, with row strides ldx, ldw, ldy; assigns
// on the first K chunk and accumulates on later ones.
template <class T, int R, int C>
MOTIF_AVX2 void tile(const float* x, int64_t ldx, const T* w, int64_t ldw, int64_t n, float* y,
                     int64_t ldy, bool first) {
  __m256 acc[R][C];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) acc[i][j] = _mm256_setzero_ps();

  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    // The next block of W rows at this K, which the slice reads after this one (see
    // kStreamPrefetchBytes for why hints): one hint per 64 bytes of each of its rows.
    if (sizeof(T) == 4 || (k & 31) == 0)
      for (int j = 0; j < kOutBlock; ++j) _mm_prefetch(reinterpret_cast<const char*>(w + (kOutBlock + j) * ldw + k), _MM_HINT_T1);
    __m256 xv[R];
    for (int i = 0; i < R; ++i) xv[i] = _mm256_loadu_ps(x + i * ldx + k);
    for (int j = 0; j < C; ++j) {
      __m256 wv = load8(w + j * ldw + k);
      for (int i = 0; i < R; ++i) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }

  for (int i = 0; i < R; ++i) {
    alignas(16) float s[4];
    if constexpr (C == 4) {
      _mm_store_ps(s, hsum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
    } else {
      for (int j = 0; j < C; ++j) s[j] = hsum(acc[i][j]);
    }
    // K not a multiple of 8: the last few products of the last chunk.
    for (int64_t kk = k; kk < n; ++kk)
      for (int j = 0; j < C; ++j) s[j] += x[i * ldx + kk] * to_f32(w[j * ldw + kk]);
    float* yr = y + i * ldy;
    for (int j = 0; j < C; ++j) yr[j] = first ? s[j] : yr[j] + s[j];
  }
}

template <class T>
using TileFn = void (*)(const float*, int64_t, const T*, int64_t, int64_t, float*, int64_t, bool);

// tiles<T>()[R-1][C-1]: the tile for the ragged edges (rows % 3, outputs % 4) as well as the full one.
template <class T>
const TileFn<T> (&tiles())[3][4] {
  static const TileFn<T> table[3][4] = {
      {tile<T, 1, 1>, tile<T, 1, 2>, tile<T, 1, 3>, tile<T, 1, 4>},
      {tile<T, 2, 1>, tile<T, 2, 2>, tile<T, 2, 3>, tile<T, 2, 4>},
      {tile<T, 3, 1>, tile<T, 3, 2>, tile<T, 3, 3>, tile<T, 3, 4>},
  };
  return table;
}

// How far ahead of its reads the stream asks for W's lines, into L2. The hardware prefetcher
// alone keeps too few lines in flight to hide the memory latency behind the FMAs (measured on one
// core, 8192×2048 BF16 out of cache: 8.3 GB/s; 10.2 GB/s with hints 3 KiB ahead into L1, 12.0
// GB/s 6 KiB ahead into L2; a bare read 12.3 GB/s). The hints run on into the next W row, which
// the slice reads next; past the end of W they are harmless.
constexpr int64_t kStreamPrefetchBytes = 6144;

// y[0..R, o] = x[0..R, :] · W[o, :] for one W row: the W row is read front to back, two vectors
// per step (two accumulators per x row hide the FMA latency).
template <class T, int R>
MOTIF_AVX2 void stream_row(const Matmul& m, int64_t r0, int64_t o) {
  const T* w = static_cast<const T*>(m.w) + o * m.in;
  const float* x = m.x + r0 * m.in;
  __m256 a[R][2];
  for (int i = 0; i < R; ++i) a[i][0] = a[i][1] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= m.in; k += 16) {
    // One hint per 64 bytes of W (16 BF16/F16 weights are 32 bytes).
    if (sizeof(T) == 4 || (k & 31) == 0) _mm_prefetch(reinterpret_cast<const char*>(w + k) + kStreamPrefetchBytes, _MM_HINT_T1);
    const __m256 w0 = load8(w + k), w1 = load8(w + k + 8);
    for (int i = 0; i < R; ++i) {
      a[i][0] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i * m.in + k), w0, a[i][0]);
      a[i][1] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i * m.in + k + 8), w1, a[i][1]);
    }
  }
  for (int i = 0; i < R; ++i) {
    float s = hsum(_mm256_add_ps(a[i][0], a[i][1]));
    for (int64_t kk = k; kk < m.in; ++kk) s += x[i * m.in + kk] * to_f32(w[kk]);
    m.y[(r0 + i) * m.out + o] = s;
  }
}

// Batch-1/2 decode is memory bound, and there reading W strictly in memory order (one row after
// the other, a single sequential stream) measured ~1.7× faster than the 4-row tiles: with
// in = 2048 BF16 each W row is one 4 KiB page, and four rows read side by side are four short
// page-sized streams the hardware prefetchers keep losing. With a long K (in > 4096) x no longer
// stays in L1 next to the stream and the tiles, which reuse each x vector 4 times, win again.
constexpr int64_t kStreamMaxRows = 2;
constexpr int64_t kStreamMaxIn = 4096;

template <class T>
MOTIF_AVX2 void stream(const Matmul& m, int64_t o_begin, int64_t o_end) {
  for (int64_t o = o_begin; o < o_end; ++o) {
    if (m.rows == 1)
      stream_row<T, 1>(m, 0, o);
    else
      stream_row<T, 2>(m, 0, o);
  }
}

template <class T>
MOTIF_AVX2 void slice(const Matmul& m, int64_t o_begin, int64_t o_end) {
  if (m.rows <= kStreamMaxRows && m.in <= kStreamMaxIn) return stream<T>(m, o_begin, o_end);
  const T* w = static_cast<const T*>(m.w);
  const auto& table = tiles<T>();

  const int64_t kc = k_chunk(m.rows, m.in);
  for (int64_t k0 = 0; k0 < m.in; k0 += kc) {
    const int64_t n = k0 + kc < m.in ? kc : m.in - k0;
    const bool first = k0 == 0;
    for (int64_t o = o_begin; o < o_end; o += kOutBlock) {
      const int64_t c = o_end - o < kOutBlock ? o_end - o : kOutBlock;
      const T* wb = w + o * m.in + k0;
      for (int64_t r = 0; r < m.rows;) {
        // Groups of 3 rows, but 4 left over go as 2 + 2: a lone row reuses each W vector only once.
        const int64_t left = m.rows - r;
        const int64_t rr = left == 4 ? 2 : (left < 3 ? left : 3);
        const float* xb = m.x + r * m.in + k0;
        float* yb = m.y + r * m.out + o;
        table[rr - 1][c - 1](xb, m.in, wb, m.in, n, yb, m.out, first);
        r += rr;
      }
    }
  }
}

}  // namespace

bool matmul_avx2_compiled() { return true; }

void matmul_slice_avx2(const Matmul& m, int64_t o_begin, int64_t o_end) {
  switch (m.wtype) {
    case WeightType::F32: return slice<float>(m, o_begin, o_end);
    case WeightType::BF16: return slice<Bf16>(m, o_begin, o_end);
    case WeightType::F16: return slice<F16>(m, o_begin, o_end);
    case WeightType::Q8_0: return matmul_slice_q8_avx2(m, o_begin, o_end);
    case WeightType::Q8_0x16: return matmul_slice_q8x16_scalar(m, o_begin, o_end);
  }
}

}  // namespace motif

#else  // no x86 SIMD build: the dispatcher always takes the scalar path

namespace motif {
bool matmul_avx2_compiled() { return false; }
void matmul_slice_avx2(const Matmul& m, int64_t o_begin, int64_t o_end) {
  matmul_slice_scalar(m, o_begin, o_end);
}
}  // namespace motif

#endif
