// Q8_0x16: the Q8_0 blocks of 16 consecutive W rows regrouped so one AVX-512 VNNI instruction
// works on all 16 rows at once (as llama.cpp's AMX/VNNI back end repacks Q8_0 at load).
//
// Batch-1 decode reads W once per token, and the Q8_0 row kernel (matmul-q8.cc) spends ~13
// instructions per 34-byte block: a scalar f16 scale, sign tricks, maddubs + madd, a horizontal
// sum per row. That is enough work that on two cores it streamed W at ~17 GB/s where a bare read
// reaches ~25. Here, per group of 16 rows and block of 32 K, 544 bytes:
//   bytes 0–31    the 16 rows' f16 scales d, in row order
//   bytes 32–543  the weights as unsigned bytes q + 128, quad-interleaved: byte 32 + 64·j + 4·n + i
//                 is row n's weight 4j + i (j < 8 quads of K, n < 16 rows, i < 4)
// so `vpdpbusd` multiplies a 64-byte load (four K of 16 rows) by one broadcast quad of x and sums
// into 16 row lanes: 8 instructions per block for all 16 rows, no horizontal sums, and the 16
// scales convert with one `vcvtph2ps`. The + 128 makes W the unsigned operand; the excess,
// 128·Σ x over the block, is the same for every row and is subtracted once per block (m.xs).
// Same bytes as Q8_0, same integer products and scales, so the same numbers up to the order of
// the f32 sums.
#include <atomic>
#include <cstring>

#include "cpu.h"
#include "matmul.h"
#include "thread-pool.h"
#include "weights.h"

#ifdef MOTIF_X86_SIMD
#include <immintrin.h>
#endif

namespace motif {
namespace {

constexpr int64_t kGroupBytes = kQ8x16Rows * kQ8BlockBytes;  // 544

struct PackJob {
  const uint8_t* q8;
  int64_t groups, nb;
  uint8_t* out;
  std::atomic<int64_t> next{0};
};

void pack_groups(void* ctx, int) {
  auto& job = *static_cast<PackJob*>(ctx);
  for_each_piece(job.next, job.groups, 1, [&](int64_t g) {
    for (int64_t b = 0; b < job.nb; ++b) {
      uint8_t* dst = job.out + (g * job.nb + b) * kGroupBytes;
      for (int n = 0; n < kQ8x16Rows; ++n) {
        const uint8_t* block = job.q8 + ((g * kQ8x16Rows + n) * job.nb + b) * kQ8BlockBytes;
        dst[2 * n] = block[0];
        dst[2 * n + 1] = block[1];
        for (int k = 0; k < kQ8Block; ++k) dst[32 + 64 * (k / 4) + 4 * n + k % 4] = static_cast<uint8_t>(block[2 + k] ^ 0x80);
      }
    }
  });
}

inline float group_scale(const uint8_t* gb, int n) { return to_f32(F16{static_cast<uint16_t>(gb[2 * n] | (gb[2 * n + 1] << 8))}); }

}  // namespace

void pack_q8x16(const uint8_t* q8, int64_t rows, int64_t cols, uint8_t* out, int max_threads) {
  PackJob job{q8, rows / kQ8x16Rows, cols / kQ8Block, out};
  ThreadPool& pool = shared_pool();
  int n = pool.size();
  if (max_threads > 0 && max_threads < n) n = max_threads;
  pool.run(n, pack_groups, &job);
}

void matmul_slice_q8x16_scalar(const Matmul& m, int64_t o_begin, int64_t o_end) {
  const int64_t nb = m.in / kQ8Block;
  for (int64_t g = o_begin / kQ8x16Rows; g < o_end / kQ8x16Rows; ++g) {
    const uint8_t* gp = static_cast<const uint8_t*>(m.w) + g * nb * kGroupBytes;
    for (int64_t r = 0; r < m.rows; ++r) {
      const int8_t* xq = m.xq + r * m.in;
      float acc[kQ8x16Rows] = {};
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* gb = gp + b * kGroupBytes;
        for (int n = 0; n < kQ8x16Rows; ++n) {
          int32_t isum = 0;
          for (int k = 0; k < kQ8Block; ++k) isum += (int32_t{gb[32 + 64 * (k / 4) + 4 * n + k % 4]} - 128) * int32_t{xq[b * kQ8Block + k]};
          acc[n] += static_cast<float>(isum) * (group_scale(gb, n) * m.xd[r * nb + b]);
        }
      }
      for (int n = 0; n < kQ8x16Rows; ++n) m.y[r * m.out + g * kQ8x16Rows + n] = acc[n];
    }
  }
}

#ifdef MOTIF_X86_SIMD

#define MOTIF_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

namespace {

// Hints 8 KiB ahead into L2, as the row kernels do (measured best of 0, 4 and 8 KiB here).
constexpr int64_t kPrefetchBytes = 8192;

// One x row against one group: 16 outputs. The first row's pass hints the lines 8 KiB ahead (the
// rest of this group, then the next one's); later rows find the group in cache.
template <bool kHint>
MOTIF_VNNI inline __m512 group_row(const uint8_t* gp, int64_t nb, const int8_t* xq, const float* xd, const int32_t* xs) {
  __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* gb = gp + b * kGroupBytes;
    if constexpr (kHint) {
      for (int64_t l = 0; l < kGroupBytes; l += 64) _mm_prefetch(reinterpret_cast<const char*>(gb + kPrefetchBytes + l), _MM_HINT_T1);
    }
    int32_t quads[8];
    std::memcpy(quads, xq + b * kQ8Block, sizeof quads);
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    for (int j = 0; j < 8; j += 2) {
      s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(gb + 32 + 64 * j), _mm512_set1_epi32(quads[j]));
      s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512(gb + 32 + 64 * (j + 1)), _mm512_set1_epi32(quads[j + 1]));
    }
    const __m512i isum = _mm512_sub_epi32(_mm512_add_epi32(s0, s1), _mm512_set1_epi32(xs[b]));
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)));
    const __m512 t = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(xd[b]));
    if (b & 1)
      odd = _mm512_fmadd_ps(t, dw, odd);
    else
      even = _mm512_fmadd_ps(t, dw, even);
  }
  return _mm512_add_ps(even, odd);
}

}  // namespace

MOTIF_VNNI void matmul_slice_q8x16_vnni(const Matmul& m, int64_t o_begin, int64_t o_end) {
  const int64_t nb = m.in / kQ8Block;
  for (int64_t g = o_begin / kQ8x16Rows; g < o_end / kQ8x16Rows; ++g) {
    const uint8_t* gp = static_cast<const uint8_t*>(m.w) + g * nb * kGroupBytes;
    for (int64_t r = 0; r < m.rows; ++r) {
      const int8_t* xq = m.xq + r * m.in;
      const __m512 y = r == 0 ? group_row<true>(gp, nb, xq, m.xd, m.xs) : group_row<false>(gp, nb, xq, m.xd + r * nb, m.xs + r * nb);
      _mm512_storeu_ps(m.y + r * m.out + g * kQ8x16Rows, y);
    }
  }
}

#else

void matmul_slice_q8x16_vnni(const Matmul& m, int64_t o_begin, int64_t o_end) { matmul_slice_q8x16_scalar(m, o_begin, o_end); }

#endif

}  // namespace motif
