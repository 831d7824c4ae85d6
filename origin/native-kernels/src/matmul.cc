// Dispatch (SIMD or portable) and the thread split. The outputs are cut into contiguous ranges
// of whole output blocks; threads take ranges from a shared counter until none are left. Each
// range reads a disjoint part of W exactly once and writes a disjoint set of columns of y, so no
// locks are needed. Taking ranges dynamically (rather than one fixed half per thread) keeps both
// cores busy when another process steals one of them for a while, which on a shared machine is
// the common case; ~8 ranges per thread keep the counter traffic negligible.
#include "matmul.h"

#include <atomic>
#include <vector>

#include "cpu.h"
#include "thread-pool.h"

namespace motif {
namespace {

// Below this many multiply-adds per thread, waking another thread costs more than it saves.
constexpr int64_t kMinMacsPerThread = int64_t{1} << 16;
constexpr int64_t kRangesPerThread = 8;

struct Job {
  const Matmul* m;
  SliceFn slice;
  int64_t range_outs;  // outputs per range, a multiple of the slice's output block
  int64_t ranges;
  std::atomic<int64_t> next{0};
};

void run_ranges(void* ctx, int) {
  Job& job = *static_cast<Job*>(ctx);
  for_each_piece(job.next, job.ranges, 1, [&](int64_t i) {
    const int64_t o0 = i * job.range_outs;
    const int64_t o1 = o0 + job.range_outs < job.m->out ? o0 + job.range_outs : job.m->out;
    job.slice(*job.m, o0, o1);
  });
}

Simd detect_simd() {
  if (!matmul_avx2_compiled() || !cpu_has_avx2_fma_f16c()) return Simd::Scalar;
  if (!matmul_avx512_compiled() || !cpu_has_avx512f()) return Simd::Avx2;
  return matmul_amx_compiled() && cpu_has_amx_bf16() ? Simd::Amx : Simd::Avx512;
}

bool takes_amx(const Matmul& m, Simd simd) {
  return simd == Simd::Amx && m.wtype == WeightType::BF16 && m.rows >= kAmxMinRows && m.in % 32 == 0 && m.out % kAmxOutBlock == 0;
}

}  // namespace

Simd cpu_simd() {
  static const Simd best = detect_simd();
  return best;
}

const char* simd_name(Simd s) {
  switch (s) {
    case Simd::Amx: return "amx";
    case Simd::Avx512: return "avx512";
    case Simd::Avx2: return "avx2";
    case Simd::Scalar: break;
  }
  return "scalar";
}

void matmul(const Matmul& m, int max_threads, Simd max_simd) {
  if (m.rows <= 0 || m.out <= 0) return;
  if (m.in <= 0) {
    for (int64_t i = 0; i < m.rows * m.out; ++i) m.y[i] = 0.0f;
    return;
  }
  ThreadPool& pool = shared_pool();
  const Simd simd = static_cast<int>(max_simd) < static_cast<int>(cpu_simd()) ? max_simd : cpu_simd();
  const bool q8x16 = m.wtype == WeightType::Q8_0x16;
  const bool q8 = m.wtype == WeightType::Q8_0 || q8x16;
  const bool amx = takes_amx(m, simd);
  const bool wide = simd == Simd::Avx512 || simd == Simd::Amx;
  const bool gemm = !q8 && simd != Simd::Scalar && m.rows >= (wide ? kGemmMinRowsAvx512 : kGemmMinRows);
  const int64_t out_block = q8x16 ? kQ8x16Rows : amx ? kAmxOutBlock : !gemm ? kOutBlock : wide ? kGemmOutBlockAvx512 : kGemmOutBlock;
  const int64_t blocks = (m.out + out_block - 1) / out_block;
  int64_t n = pool.size();
  if (max_threads > 0 && max_threads < n) n = max_threads;
  const int64_t by_work = (m.rows * m.in * m.out) / kMinMacsPerThread;
  if (n > by_work) n = by_work > 0 ? by_work : 1;
  if (n > blocks) n = blocks;

  int64_t blocks_per_range = n > 1 ? blocks / (n * kRangesPerThread) : blocks;
  if (blocks_per_range < 1) blocks_per_range = 1;
  Matmul call = m;
  Job job;
  job.m = &call;
  if (q8) {
    // x quantised once per call, on the calling thread (rows·in values against rows·in·out
    // products); per-thread buffers, reused, so a decode step does not allocate.
    thread_local std::vector<int8_t> xq;
    thread_local std::vector<float> xd;
    xq.resize(static_cast<size_t>(m.rows * m.in));
    xd.resize(static_cast<size_t>(m.rows * m.in / kQ8Block));
    (simd == Simd::Scalar ? quantize_q8_blocks : quantize_q8_blocks_avx2)(m.x, m.rows * m.in, xq.data(), xd.data());
    call.xq = xq.data();
    call.xd = xd.data();
    job.slice = simd == Simd::Scalar ? matmul_slice_q8_scalar : matmul_slice_q8_avx2;
    if (q8x16) {
      thread_local std::vector<int32_t> xs;
      xs.resize(xd.size());
      for (size_t b = 0; b < xs.size(); ++b) {
        int32_t sum = 0;
        for (int64_t k = 0; k < kQ8Block; ++k) sum += xq[b * kQ8Block + k];
        xs[b] = 128 * sum;
      }
      call.xs = xs.data();
      const bool vnni = static_cast<int>(simd) >= static_cast<int>(Simd::Avx512) && cpu_has_avx512_vnni();
      job.slice = vnni ? matmul_slice_q8x16_vnni : matmul_slice_q8x16_scalar;
    }
  } else if (amx) {
    // x split into BF16 parts once per call, on the pool; per-thread buffer, reused.
    thread_local std::vector<uint16_t> xa;
    xa.resize(static_cast<size_t>(amx_packed_x_size(m.rows, m.in)));
    amx_pack_x(m.x, m.rows, m.in, xa.data(), static_cast<int>(n));
    call.xa = xa.data();
    job.slice = matmul_slice_amx;
  } else if (gemm) {
    job.slice = wide ? matmul_slice_gemm_avx512 : matmul_slice_gemm_avx2;
  } else {
    job.slice = simd != Simd::Scalar ? matmul_slice_avx2 : matmul_slice_scalar;
  }
  job.range_outs = blocks_per_range * out_block;
  job.ranges = (blocks + blocks_per_range - 1) / blocks_per_range;
  pool.run(static_cast<int>(n), run_ranges, &job);
}

}  // namespace motif
