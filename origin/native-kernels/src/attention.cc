// Differential attention (see attention.h). One work item is one query row × one differential
// head: scores against every cached position for both maps of the pair, the two softmaxes folded
// into one weight per position (A1 − λ·A2), the weighted sum of the pair's value rows, then the
// shared RMSNorm (`subln`) scaled by 1 − λ_init. Items are pulled from an atomic counter, so a
// descheduled thread costs nothing but its own share. Scores and values are f32 with 8-lane
// partial sums (as the reference model computes in fp32); softmax sums and the norm's square sum
// are accumulated in double, as the JS path does.
#include "attention.h"

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
MOTIF_AVX2 float dot_avx2(const float* a, const float* b, int64_t n) {
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

MOTIF_AVX2 void axpy_avx2(float* acc, float c, const float* v, int64_t n) {
  const __m256 cv = _mm256_set1_ps(c);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(cv, _mm256_loadu_ps(v + i), _mm256_loadu_ps(acc + i)));
  for (; i < n; ++i) acc[i] += c * v[i];
}
#endif

using DotFn = float (*)(const float*, const float*, int64_t);
using AxpyFn = void (*)(float*, float, const float*, int64_t);

struct Job {
  const Attention* a;
  DotFn dot;
  AxpyFn axpy;
  int64_t items;
  std::atomic<int64_t> next{0};
};

void run_item(const Attention& a, DotFn dot, AxpyFn axpy, int64_t item, std::vector<float>& s1, std::vector<float>& s2, std::vector<float>& acc) {
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
  for (int64_t tau = 0; tau < n; ++tau) {
    const float e1 = std::exp(s1[tau] - m1), e2 = std::exp(s2[tau] - m2);
    s1[tau] = e1;
    s2[tau] = e2;
    sum1 += e1;
    sum2 += e2;
  }
  const float c1 = static_cast<float>(1.0 / sum1), c2 = static_cast<float>(a.lambda / sum2);
  acc.assign(static_cast<size_t>(2 * d), 0.0f);
  for (int64_t tau = 0; tau < n; ++tau) {
    const float* v = a.v_blocks[tau >> a.shift] + (tau & mask) * width + ha;
    axpy(acc.data(), s1[tau] * c1 - s2[tau] * c2, v, 2 * d);
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
    run_item(*job->a, job->dot, job->axpy, item, s1, s2, acc);
}

}  // namespace

void attend(const Attention& a, int max_threads, Simd max_simd) {
  const int64_t items = a.count * (a.heads / 2);
  if (items <= 0) return;
  Job job;
  job.a = &a;
  job.items = items;
  job.dot = dot_scalar;
  job.axpy = axpy_scalar;
#ifdef MOTIF_X86_SIMD
  if (max_simd != Simd::Scalar && cpu_simd() != Simd::Scalar) {
    job.dot = dot_avx2;
    job.axpy = axpy_avx2;
  }
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
