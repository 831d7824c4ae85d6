// Row norms (see norms.h). One work item is one row; rows are pulled from an atomic counter. The
// AVX2 path keeps four double partial sums per quantity (JS sums one at a time), so a sum may
// differ from JS in its last bits of double, far below the f32 result's rounding.
#include "norms.h"

#include <atomic>
#include <cmath>

#include "cpu.h"
#include "thread-pool.h"

#ifdef MOTIF_X86_SIMD
#include <immintrin.h>
#define MOTIF_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace motif {
namespace {

struct RmsJob {
  float* dst;
  const float* src;
  int64_t width;
  const float* gain;
  double eps;
};

struct PolyJob {
  float* dst;
  const float* gate_up;
  int64_t width;
  double w0, w1, w2, bias, eps;
};

double sum_squares_scalar(const float* x, int64_t n) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  return ss;
}

void rms_scale_scalar(const RmsJob& j, const float* x, float* y, double inv, int64_t i0) {
  for (int64_t i = i0; i < j.width; ++i) y[i] = static_cast<float>(static_cast<double>(x[i]) * inv * j.gain[i]);
}

void rms_row_scalar(const RmsJob& j, int64_t r) {
  const float* x = j.src + r * j.width;
  const double inv = 1.0 / std::sqrt(sum_squares_scalar(x, j.width) / static_cast<double>(j.width) + j.eps);
  rms_scale_scalar(j, x, j.dst + r * j.width, inv, 0);
}

// Σv², Σv⁴, Σv⁶ of a PolyNorm row, and the coefficients they give (w₂, w₁, w₀ over the roots).
struct PolySums {
  double s2 = 0, s4 = 0, s6 = 0;
};
struct PolyCoefs {
  double c1, c2, c3;
};

void add_poly_sums(const float* g, int64_t i0, int64_t i1, PolySums& s) {
  for (int64_t i = i0; i < i1; ++i) {
    const double v = g[i], v2 = v * v;
    s.s2 += v2;
    s.s4 += v2 * v2;
    s.s6 += v2 * v2 * v2;
  }
}

PolyCoefs poly_coefs(const PolyJob& j, const PolySums& s) {
  const double n = static_cast<double>(j.width);
  return {j.w2 / std::sqrt(s.s2 / n + j.eps), j.w1 / std::sqrt(s.s4 / n + j.eps), j.w0 / std::sqrt(s.s6 / n + j.eps)};
}

void poly_apply_scalar(const PolyJob& j, const PolyCoefs& c, const float* g, const float* u, float* y, int64_t i0) {
  for (int64_t i = i0; i < j.width; ++i) {
    const double v = g[i];
    y[i] = static_cast<float>((((c.c3 * v + c.c2) * v + c.c1) * v + j.bias) * u[i]);
  }
}

void poly_row_scalar(const PolyJob& j, int64_t r) {
  const float* g = j.gate_up + 2 * r * j.width;
  PolySums s;
  add_poly_sums(g, 0, j.width, s);
  poly_apply_scalar(j, poly_coefs(j, s), g, g + j.width, j.dst + r * j.width, 0);
}

#ifdef MOTIF_X86_SIMD
MOTIF_AVX2 inline double hsum(__m256d v) {
  const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// Explicit multiplies and adds, no FMA: the same roundings as JS's double arithmetic.
MOTIF_AVX2 void rms_row_avx2(const RmsJob& j, int64_t r) {
  const float* x = j.src + r * j.width;
  const int64_t n4 = j.width & ~int64_t{3};
  __m256d acc = _mm256_setzero_pd();
  for (int64_t i = 0; i < n4; i += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
    acc = _mm256_add_pd(acc, _mm256_mul_pd(v, v));
  }
  const double ss = hsum(acc) + sum_squares_scalar(x + n4, j.width - n4);
  const double inv = 1.0 / std::sqrt(ss / static_cast<double>(j.width) + j.eps);
  const __m256d iv = _mm256_set1_pd(inv);
  float* y = j.dst + r * j.width;
  for (int64_t i = 0; i < n4; i += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
    const __m256d g = _mm256_cvtps_pd(_mm_loadu_ps(j.gain + i));
    _mm_storeu_ps(y + i, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_mul_pd(v, iv), g)));
  }
  rms_scale_scalar(j, x, y, inv, n4);
}

MOTIF_AVX2 void poly_row_avx2(const PolyJob& j, int64_t r) {
  const float* g = j.gate_up + 2 * r * j.width;
  const float* u = g + j.width;
  const int64_t n4 = j.width & ~int64_t{3};
  __m256d a2 = _mm256_setzero_pd(), a4 = a2, a6 = a2;
  for (int64_t i = 0; i < n4; i += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(g + i));
    const __m256d v2 = _mm256_mul_pd(v, v), v4 = _mm256_mul_pd(v2, v2);
    a2 = _mm256_add_pd(a2, v2);
    a4 = _mm256_add_pd(a4, v4);
    a6 = _mm256_add_pd(a6, _mm256_mul_pd(v4, v2));
  }
  PolySums s{hsum(a2), hsum(a4), hsum(a6)};
  add_poly_sums(g, n4, j.width, s);
  const PolyCoefs c = poly_coefs(j, s);
  const __m256d k1 = _mm256_set1_pd(c.c1), k2 = _mm256_set1_pd(c.c2), k3 = _mm256_set1_pd(c.c3), b = _mm256_set1_pd(j.bias);
  float* y = j.dst + r * j.width;
  for (int64_t i = 0; i < n4; i += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(g + i));
    __m256d p = _mm256_add_pd(_mm256_mul_pd(k3, v), k2);
    p = _mm256_add_pd(_mm256_mul_pd(p, v), k1);
    p = _mm256_add_pd(_mm256_mul_pd(p, v), b);
    _mm_storeu_ps(y + i, _mm256_cvtpd_ps(_mm256_mul_pd(p, _mm256_cvtps_pd(_mm_loadu_ps(u + i)))));
  }
  poly_apply_scalar(j, c, g, u, y, n4);
}
#endif

template <class J>
struct RowsJob {
  const J* job;
  void (*row)(const J&, int64_t);
  int64_t rows;
  std::atomic<int64_t> next{0};
};

template <class J>
void run_rows(void* ctx, int) {
  auto* rj = static_cast<RowsJob<J>*>(ctx);
  for (int64_t r = rj->next.fetch_add(1); r < rj->rows; r = rj->next.fetch_add(1)) rj->row(*rj->job, r);
}

// A decode step's row or two is not worth waking a thread for.
constexpr int64_t kMinValuesPerThread = int64_t{1} << 15;

template <class J>
void run(const J& job, void (*row)(const J&, int64_t), int64_t rows, int64_t width, int max_threads) {
  if (rows <= 0) return;
  RowsJob<J> rj{&job, row, rows};
  ThreadPool& pool = shared_pool();
  int64_t n = pool.size();
  if (max_threads > 0 && max_threads < n) n = max_threads;
  const int64_t by_work = rows * width / kMinValuesPerThread;
  if (n > by_work) n = by_work > 0 ? by_work : 1;
  if (n > rows) n = rows;
  pool.run(static_cast<int>(n), run_rows<J>, &rj);
}

}  // namespace

void rms_norm_rows(float* dst, const float* src, int64_t rows, int64_t width, const float* gain, double eps, int max_threads,
                   Simd max_simd) {
  const RmsJob job{dst, src, width, gain, eps};
  auto row = rms_row_scalar;
#ifdef MOTIF_X86_SIMD
  if (max_simd != Simd::Scalar && cpu_simd() != Simd::Scalar) row = rms_row_avx2;
#else
  (void)max_simd;
#endif
  run(job, row, rows, width, max_threads);
}

void poly_norm_gate_fused(float* dst, const float* gate_up, int64_t rows, int64_t width, const double weight[3], double bias,
                          double eps, int max_threads, Simd max_simd) {
  const PolyJob job{dst, gate_up, width, weight[0], weight[1], weight[2], bias, eps};
  auto row = poly_row_scalar;
#ifdef MOTIF_X86_SIMD
  if (max_simd != Simd::Scalar && cpu_simd() != Simd::Scalar) row = poly_row_avx2;
#else
  (void)max_simd;
#endif
  run(job, row, rows, width, max_threads);
}

}  // namespace motif
