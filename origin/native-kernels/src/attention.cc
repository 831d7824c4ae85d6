// Differential attention (see attention.h). One work item is one query row × one differential
// head: scores against every cached position for both maps of the pair, the two softmaxes folded
// into one weight per position (A1 − λ·A2), the weighted sum of the pair's value rows, then the
// shared RMSNorm (`subln`) scaled by 1 − λ_init. Items are pulled from an atomic counter, so a
// descheduled thread costs nothing but its own share. Scores and values are f32 with 8-lane
// partial sums (as the reference model computes in fp32); softmax sums and the norm's square sum
// are accumulated in double, as the JS path does. The AVX2 path takes e^x 8 at a time (Cephes'
// expf, within ~2 ulp of std::exp) and keeps the weighted sums in registers (pv_avx2): a 512-token
// prefill's attention went from 59 to 40 ms a layer on a 2-core AVX-512 VM.
#include "attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "cpu.h"
#include "thread-pool.h"

#ifdef MOTIF_X86_SIMD
#include <immintrin.h>
#define MOTIF_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace motif {
namespace {

float dot_scalar(const float* a, const float* b, int64_t n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

void axpy_scalar(float* acc, float c, const float* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += c * v[i];
}

#ifdef MOTIF_X86_SIMD
MOTIF_AVX2 inline float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  __m256 s = _mm256_add_ps(s0, s1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  float out = _mm_cvtss_f32(h);
  for (; i < n; ++i) out += a[i] * b[i];
  return out;
}

// e^x for x ≤ 0 (scores minus their maximum), 8 at a time: Cephes' expf (range reduction by
// ln 2 in two parts, a degree-6 polynomial), within ~2 ulp of std::exp; below −87.3 it is 0-ish
// (2^−126), as std::exp's result would be negligible beside the maximum's 1.
MOTIF_AVX2 inline __m256 exp_avx2(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// s[τ] ← e^(s[τ] − m) for τ < n; returns Σ in double.
MOTIF_AVX2 double exp_sum_avx2(float* s, int64_t n, float m) {
  const __m256 mv = _mm256_set1_ps(m);
  __m256d acc = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + i), mv));
    _mm256_storeu_ps(s + i, e);
    acc = _mm256_add_pd(acc, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(e)), _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1))));
  }
  const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
  double sum = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
  for (; i < n; ++i) {
    s[i] = std::exp(s[i] - m);
    sum += s[i];
  }
  return sum;
}

// acc[0 … NV·8) = Σ_τ p[τ] · V_τ[col …], the τ in order, one FMA per element per τ.
template <int NV>
MOTIF_AVX2 void pv_chunk_avx2(float* acc, const float* p, int64_t n, const float* const* v_blocks, int shift, int64_t width, int64_t col) {
  __m256 a[NV];
  for (int j = 0; j < NV; ++j) a[j] = _mm256_setzero_ps();
  const int64_t mask = (int64_t{1} << shift) - 1;
  for (int64_t tau = 0; tau < n; ++tau) {
    const float* v = v_blocks[tau >> shift] + (tau & mask) * width + col;
    const __m256 w = _mm256_broadcast_ss(p + tau);
    for (int j = 0; j < NV; ++j) a[j] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 8 * j), a[j]);
  }
  for (int j = 0; j < NV; ++j) _mm256_storeu_ps(acc + 8 * j, a[j]);
}

// acc[0 … len) = Σ_τ p[τ] · V_τ[col …] in chunks of 64 sums held in registers for the whole
// sweep, so they never go through memory (the earlier axpy per position loaded and stored all of
// them for every position); a tail of len % 8 by scalar FMAs. A 256-sum AVX-512 sweep (16 zmm)
// measured slower here than four 64-sum AVX2 sweeps.
MOTIF_AVX2 void pv_avx2(float* acc, const float* p, int64_t n, const float* const* v_blocks, int shift, int64_t width, int64_t col, int64_t len) {
  int64_t c = 0;
  for (; c + 64 <= len; c += 64) pv_chunk_avx2<8>(acc + c, p, n, v_blocks, shift, width, col + c);
  for (; c + 8 <= len; c += 8) pv_chunk_avx2<1>(acc + c, p, n, v_blocks, shift, width, col + c);
  if (c < len) {
    const int64_t mask = (int64_t{1} << shift) - 1;
    for (int64_t i = c; i < len; ++i) acc[i] = 0.0f;
    for (int64_t tau = 0; tau < n; ++tau) {
      const float* v = v_blocks[tau >> shift] + (tau & mask) * width + col;
      for (int64_t i = c; i < len; ++i) acc[i] = std::fma(p[tau], v[i], acc[i]);
    }
  }
}
#endif

enum class Path { Scalar, Avx2 };

struct Job {
  const Attention* a;
  Path path;
  int64_t items;
  std::atomic<int64_t> next{0};
};

void run_item(const Attention& a, Path path, int64_t item, std::vector<float>& s1, std::vector<float>& s2, std::vector<float>& acc) {
  const int64_t pairs = a.heads / 2, d = a.head_dim, width = a.heads * d;
  const int64_t t = item / pairs, h = item % pairs;
  const int64_t n = a.start_pos + t + 1;  // positions 0 … start_pos + t
  const int64_t ha = 2 * h * d;           // channel offset of the pair inside a row
  const int64_t mask = (int64_t{1} << a.shift) - 1;
  const float* qa = a.q + (a.q_row + t) * a.q_stride + ha;
  const float* qb = qa + d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  s1.resize(static_cast<size_t>(n));
  s2.resize(static_cast<size_t>(n));
  acc.resize(static_cast<size_t>(2 * d));
#ifdef MOTIF_X86_SIMD
  const auto dot = path == Path::Scalar ? dot_scalar : dot_avx2;
#else
  const auto dot = dot_scalar;
  (void)path;
#endif
  float m1 = -INFINITY, m2 = -INFINITY;
  for (int64_t tau = 0; tau < n; ++tau) {
    const float* k = a.k_blocks[tau >> a.shift] + (tau & mask) * width + ha;
    const float x1 = dot(qa, k, d) * scale, x2 = dot(qb, k + d, d) * scale;
    s1[tau] = x1;
    s2[tau] = x2;
    if (x1 > m1) m1 = x1;
    if (x2 > m2) m2 = x2;
  }
  double sum1 = 0, sum2 = 0;
#ifdef MOTIF_X86_SIMD
  if (path != Path::Scalar) {
    sum1 = exp_sum_avx2(s1.data(), n, m1);
    sum2 = exp_sum_avx2(s2.data(), n, m2);
  } else
#endif
  {
    for (int64_t tau = 0; tau < n; ++tau) {
      const float e1 = std::exp(s1[tau] - m1), e2 = std::exp(s2[tau] - m2);
      s1[tau] = e1;
      s2[tau] = e2;
      sum1 += e1;
      sum2 += e2;
    }
  }
  const float c1 = static_cast<float>(1.0 / sum1), c2 = static_cast<float>(a.lambda / sum2);
  // One weight per position (A1 − λ·A2), then the weighted sum of the pair's value rows.
  for (int64_t tau = 0; tau < n; ++tau) s1[tau] = s1[tau] * c1 - s2[tau] * c2;
#ifdef MOTIF_X86_SIMD
  if (path != Path::Scalar) {
    pv_avx2(acc.data(), s1.data(), n, a.v_blocks, a.shift, width, ha, 2 * d);
  } else
#endif
  {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int64_t tau = 0; tau < n; ++tau) axpy_scalar(acc.data(), s1[tau], a.v_blocks[tau >> a.shift] + (tau & mask) * width + ha, 2 * d);
  }
  double ss = 0;
  for (int64_t i = 0; i < 2 * d; ++i) ss += static_cast<double>(acc[i]) * acc[i];
  const float inv = static_cast<float>((1.0 - a.lambda_init) / std::sqrt(ss / static_cast<double>(2 * d) + a.eps));
  float* z = a.z + (a.q_row + t) * width + ha;
  for (int64_t i = 0; i < 2 * d; ++i) z[i] = acc[i] * inv * a.subln[i];
}

void run_items(void* ctx, int) {
  auto* job = static_cast<Job*>(ctx);
  // Per thread, reused across calls: a prefill chunk must not allocate per item.
  thread_local std::vector<float> s1, s2, acc;
  for (int64_t item = job->next.fetch_add(1); item < job->items; item = job->next.fetch_add(1))
    run_item(*job->a, job->path, item, s1, s2, acc);
}

}  // namespace

void attend(const Attention& a, int max_threads, Simd max_simd) {
  const int64_t items = a.count * (a.heads / 2);
  if (items <= 0) return;
  Job job;
  job.a = &a;
  job.items = items;
  job.path = Path::Scalar;
#ifdef MOTIF_X86_SIMD
  if (max_simd != Simd::Scalar && cpu_simd() != Simd::Scalar) job.path = Path::Avx2;
#else
  (void)max_simd;
#endif
  ThreadPool& pool = shared_pool();
  int64_t n = pool.size();
  if (max_threads > 0 && max_threads < n) n = max_threads;
  // A decode step's few items are not worth waking a thread for: below ~64k multiply-adds each
  // thread would spend longer joining than computing.
  const int64_t macs = items * (a.start_pos + a.count) * 4 * a.head_dim;
  if (macs < int64_t{1} << 16) n = 1;
  if (n > items) n = items;
  pool.run(static_cast<int>(n), run_items, &job);
}

}  // namespace motif
