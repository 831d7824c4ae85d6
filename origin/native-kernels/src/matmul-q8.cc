// Q8_0 weights (llama.cpp's block_q8_0: per 32 weights of a row, an f16 scale and 32 int8).
//
// x is quantised the same way per block of 32 before the threads start (quantize_q8_blocks,
// called by matmul()), so each block's dot product is exact integer arithmetic and only the
// per-block sums Σ_b isum_b·(dx_b·dw_b) are float. That is llama.cpp's Q8_0 × Q8_0 scheme, chosen
// over widening the int8 weights to f32 for FMAs with f32 x: per 32 weights the integer path is
// one maddubs + one madd + one convert + one FMA (plus two sign ops) against four
// widen-convert-FMA triples, and batch-1 decode, which reads half the bytes of BF16, would
// otherwise turn compute bound on two cores (measured: see the addon README).
//
// Blocking: one W row at a time, read front to back (batch-1 decode reads W strictly in memory
// order, as the BF16 stream path does), against up to 4 rows of x. Many rows simply take the
// row tiles in turn: prefill speed is secondary for this format.
#include <atomic>
#include <cmath>

#include "cpu.h"
#include "matmul.h"
#include "thread-pool.h"
#include "weights.h"

#ifdef MOTIF_X86_SIMD
#include <immintrin.h>
#endif

namespace motif {
namespace {

constexpr int kQ8Rows = 4;

inline float block_scale(const uint8_t* block) {
  return to_f32(F16{static_cast<uint16_t>(block[0] | (block[1] << 8))});
}

template <int R>
void rows_scalar(const Matmul& m, int64_t r0, int64_t o) {
  const int64_t nb = m.in / kQ8Block;
  const uint8_t* wr = static_cast<const uint8_t*>(m.w) + o * nb * kQ8BlockBytes;
  float acc[R] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* block = wr + b * kQ8BlockBytes;
    const int8_t* qw = reinterpret_cast<const int8_t*>(block + 2);
    const float dw = block_scale(block);
    for (int i = 0; i < R; ++i) {
      const int8_t* qx = m.xq + (r0 + i) * m.in + b * kQ8Block;
      int32_t isum = 0;
      for (int k = 0; k < kQ8Block; ++k) isum += int32_t{qw[k]} * int32_t{qx[k]};
      acc[i] += static_cast<float>(isum) * (dw * m.xd[(r0 + i) * nb + b]);
    }
  }
  for (int i = 0; i < R; ++i) m.y[(r0 + i) * m.out + o] = acc[i];
}

template <class RowsFn>
inline void for_rows(const Matmul& m, int64_t o_begin, int64_t o_end, RowsFn&& rows) {
  for (int64_t o = o_begin; o < o_end; ++o) {
    int64_t r = 0;
    for (; r + kQ8Rows <= m.rows; r += kQ8Rows) rows(kQ8Rows, r, o);
    if (r < m.rows) rows(static_cast<int>(m.rows - r), r, o);
  }
}

// False when a block holds a NaN or its scale overflows an f16 (the JS quantiser refuses both).
template <class T>
bool quantize_rows(const T* w, int64_t cols, int64_t r0, int64_t r1, uint8_t* out) {
  bool ok = true;
  const int64_t nb = cols / kQ8Block;
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t b = 0; b < nb; ++b) {
      const T* wb = w + r * cols + b * kQ8Block;
      uint8_t* block = out + (r * nb + b) * kQ8BlockBytes;
      float amax = 0.0f;
      for (int k = 0; k < kQ8Block; ++k) {
        const float a = std::fabs(to_f32(wb[k]));
        if (std::isnan(a)) ok = false;
        amax = std::fmax(amax, a);
      }
      const uint16_t bits = f32_to_f16_bits(amax / 127.0f);
      if ((bits & 0x7c00u) == 0x7c00u) ok = false;
      const float d = to_f32(F16{bits});
      // In double, as JavaScript computes it, so both write the same bytes.
      const double id = d > 0.0f ? 1.0 / static_cast<double>(d) : 0.0;
      block[0] = static_cast<uint8_t>(bits & 0xff);
      block[1] = static_cast<uint8_t>(bits >> 8);
      for (int k = 0; k < kQ8Block; ++k) {
        const double t = std::fmin(255.0, std::fmax(1.0, static_cast<double>(to_f32(wb[k])) * id + 128.5));
        block[2 + k] = static_cast<uint8_t>(static_cast<int8_t>(static_cast<int>(t) - 128));
      }
    }
  }
  return ok;
}

struct QuantizeJob {
  const void* w;
  WeightType wtype;
  int64_t rows, cols;
  uint8_t* out;
  std::atomic<int64_t> next{0};
  std::atomic<bool> ok{true};
};

constexpr int64_t kQuantizeRowsPerPiece = 64;

void quantize_pieces(void* ctx, int) {
  auto& job = *static_cast<QuantizeJob*>(ctx);
  for_each_piece(job.next, job.rows, kQuantizeRowsPerPiece, [&](int64_t r0) {
    const int64_t r1 = r0 + kQuantizeRowsPerPiece < job.rows ? r0 + kQuantizeRowsPerPiece : job.rows;
    bool ok = false;
    switch (job.wtype) {
      case WeightType::F32: ok = quantize_rows(static_cast<const float*>(job.w), job.cols, r0, r1, job.out); break;
      case WeightType::BF16: ok = quantize_rows(static_cast<const Bf16*>(job.w), job.cols, r0, r1, job.out); break;
      case WeightType::F16: ok = quantize_rows(static_cast<const F16*>(job.w), job.cols, r0, r1, job.out); break;
      case WeightType::Q8_0:
      case WeightType::Q8_0x16: break;
    }
    if (!ok) job.ok.store(false, std::memory_order_relaxed);
  });
}

}  // namespace

bool quantize_weights_q8(const void* w, WeightType wtype, int64_t rows, int64_t cols, uint8_t* out, int max_threads) {
  QuantizeJob job{w, wtype, rows, cols, out};
  ThreadPool& pool = shared_pool();
  int n = pool.size();
  if (max_threads > 0 && max_threads < n) n = max_threads;
  pool.run(n, quantize_pieces, &job);
  return job.ok.load();
}

void quantize_q8_blocks(const float* x, int64_t n, int8_t* xq, float* xd) {
  // No libm calls (fmaxf/roundf are not inlined on baseline x86-64) and no sign branches: the
  // first version cost 4.4 ms of a ~100 ms Motif decode step.
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const float* xb = x + b * kQ8Block;
    float amax = 0.0f;
    for (int k = 0; k < kQ8Block; ++k) {
      const float a = xb[k] < 0.0f ? -xb[k] : xb[k];
      amax = a > amax ? a : amax;  // a NaN is skipped, as fmax would
    }
    const float d = amax / 127.0f;
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    xd[b] = d;
    for (int k = 0; k < kQ8Block; ++k) {
      const float v = xb[k] * id;
      // Halves away from zero: v ± 0.5 is exact in double, the conversion truncates; branch-free,
      // as activation signs are random. NaN → 0.
      const double t = v == v ? static_cast<double>(v) + std::copysign(0.5, static_cast<double>(v)) : 0.0;
      int q = static_cast<int>(t < -127.0 ? -127.0 : t > 127.0 ? 127.0 : t);
      xq[b * kQ8Block + k] = static_cast<int8_t>(q);
    }
  }
}

void matmul_slice_q8_scalar(const Matmul& m, int64_t o_begin, int64_t o_end) {
  for_rows(m, o_begin, o_end, [&](int rr, int64_t r, int64_t o) {
    switch (rr) {
      case 1: return rows_scalar<1>(m, r, o);
      case 2: return rows_scalar<2>(m, r, o);
      case 3: return rows_scalar<3>(m, r, o);
      default: return rows_scalar<4>(m, r, o);
    }
  });
}

#ifdef MOTIF_X86_SIMD

#define MOTIF_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace {

MOTIF_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Σ qw·qx over 32 int8 pairs as 8 int32 lanes. maddubs multiplies unsigned by signed bytes, so
// w's sign moves onto x: |qw| · (sign(qw)·qx). No int16 saturation: |qx| ≤ 127 and |qw| ≤ 128,
// so a pair sums to at most 2·128·127 = 32512.
MOTIF_AVX2 inline __m256i dot32(__m256i qw, __m256i qx) {
  const __m256i prod = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
  return _mm256_madd_epi16(prod, _mm256_set1_epi16(1));
}

// acc[i] += Σ_k qw·qx[i] · (dw·dx[i]) over block b, for R rows of x.
template <int R>
MOTIF_AVX2 inline void block_avx2(const uint8_t* block, const int8_t* xq, int64_t ldx, const float* xd, int64_t nb, int64_t b,
                                  __m256* acc) {
  const float dw = _cvtsh_ss(static_cast<unsigned short>(block[0] | (block[1] << 8)));
  const __m256i qw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
  for (int i = 0; i < R; ++i) {
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + i * ldx + b * kQ8Block));
    const __m256 s = _mm256_cvtepi32_ps(dot32(qw, qx));
    acc[i] = _mm256_fmadd_ps(s, _mm256_set1_ps(dw * xd[i * nb + b]), acc[i]);
  }
}

// W is read front to back; the hardware prefetcher alone keeps too few of its lines in flight
// to hide the memory latency behind this loop's arithmetic (measured on one core, 8192×2048
// Q8_0 out of cache: 7 GB/s against 12.3 GB/s for a bare read; 10.7 GB/s with these hints into
// L2, 9.9 GB/s into L1). The two lines a pair of blocks (68 bytes) may touch are asked for
// kPrefetchBytes ahead, which runs into the next W row of the slice, read next. A hint past the
// end of W is harmless.
constexpr int64_t kPrefetchBytes = 6144;

MOTIF_AVX2 inline void prefetch_ahead(const uint8_t* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchBytes), _MM_HINT_T1);
  _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchBytes + 64), _MM_HINT_T1);
}

// Two accumulators per x row (even and odd blocks) hide the FMA latency of the per-block sums.
template <int R>
MOTIF_AVX2 void rows_avx2(const Matmul& m, int64_t r0, int64_t o) {
  const int64_t nb = m.in / kQ8Block;
  const uint8_t* wr = static_cast<const uint8_t*>(m.w) + o * nb * kQ8BlockBytes;
  const int8_t* xq = m.xq + r0 * m.in;
  const float* xd = m.xd + r0 * nb;
  __m256 even[R], odd[R];
  for (int i = 0; i < R; ++i) even[i] = odd[i] = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    prefetch_ahead(wr + b * kQ8BlockBytes);
    block_avx2<R>(wr + b * kQ8BlockBytes, xq, m.in, xd, nb, b, even);
    block_avx2<R>(wr + (b + 1) * kQ8BlockBytes, xq, m.in, xd, nb, b + 1, odd);
  }
  if (b < nb) block_avx2<R>(wr + b * kQ8BlockBytes, xq, m.in, xd, nb, b, even);
  for (int i = 0; i < R; ++i) m.y[(r0 + i) * m.out + o] = hsum(_mm256_add_ps(even[i], odd[i]));
}

}  // namespace

namespace {

MOTIF_AVX2 void quantize_blocks_avx2(const float* x, int64_t n, int8_t* xq, float* xd) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  // Just below 0.5: v + 0.49999997 truncated rounds halves away from zero with no double step
  // (v + 0.5 would round 0.49999997 up); the same integers as the portable path for |v| ≤ 127.
  const __m256 half = _mm256_set1_ps(0.49999997f);
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const float* xb = x + b * kQ8Block;
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_loadu_ps(xb + 8 * j);
      m = _mm256_max_ps(_mm256_andnot_ps(sign, v[j]), m);  // a NaN lane is skipped (max returns m)
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float d = _mm_cvtss_f32(m4) / 127.0f;
    const __m256 id = _mm256_set1_ps(d > 0.0f ? 1.0f / d : 0.0f);
    xd[b] = d;
    __m256i q[4];
    for (int j = 0; j < 4; ++j) {
      __m256 s = _mm256_mul_ps(v[j], id);
      const __m256 ok = _mm256_cmp_ps(s, s, _CMP_ORD_Q);  // NaN lanes become 0, as in the portable path
      s = _mm256_add_ps(s, _mm256_or_ps(_mm256_and_ps(s, sign), half));
      s = _mm256_min_ps(_mm256_max_ps(s, lo), hi);
      q[j] = _mm256_cvttps_epi32(_mm256_and_ps(s, ok));
    }
    // 32 int32 → 32 int8 (packs interleave 128-bit lanes; the permute puts them back in order).
    const __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + b * kQ8Block), p8);
  }
}

}  // namespace

void quantize_q8_blocks_avx2(const float* x, int64_t n, int8_t* xq, float* xd) { quantize_blocks_avx2(x, n, xq, xd); }

void matmul_slice_q8_avx2(const Matmul& m, int64_t o_begin, int64_t o_end) {
  for_rows(m, o_begin, o_end, [&](int rr, int64_t r, int64_t o) {
    switch (rr) {
      case 1: return rows_avx2<1>(m, r, o);
      case 2: return rows_avx2<2>(m, r, o);
      case 3: return rows_avx2<3>(m, r, o);
      default: return rows_avx2<4>(m, r, o);
    }
  });
}

#else

void matmul_slice_q8_avx2(const Matmul& m, int64_t o_begin, int64_t o_end) { matmul_slice_q8_scalar(m, o_begin, o_end); }
void quantize_q8_blocks_avx2(const float* x, int64_t n, int8_t* xq, float* xd) { quantize_q8_blocks(x, n, xq, xd); }

#endif

}  // namespace motif
