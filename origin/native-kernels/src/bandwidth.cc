#include "bandwidth.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cpu.h"
#include "thread-pool.h"

#ifdef MOTIF_X86_SIMD
#include <immintrin.h>
#endif

namespace motif {
namespace {

constexpr size_t kAlign = 4096;

// Sums the buffer as 64-bit words with four independent accumulators: enough loads in flight
// for DRAM to be the limit, and a result the compiler cannot discard.
uint64_t read_scalar(const uint8_t* p, size_t n) {
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  uint64_t a = 0, b = 0, c = 0, d = 0;
  size_t words = n / 8, i = 0;
  for (; i + 4 <= words; i += 4) {
    a += q[i];
    b += q[i + 1];
    c += q[i + 2];
    d += q[i + 3];
  }
  for (; i < words; ++i) a += q[i];
  return a + b + c + d;
}

#ifdef MOTIF_X86_SIMD
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  size_t i = 0;
  // Two cache lines per iteration, 32-byte aligned loads (chunks start on 4 KiB boundaries).
  for (; i + 128 <= n; i += 128) {
    a = _mm256_add_epi64(a, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_add_epi64(b, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    c = _mm256_add_epi64(c, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    d = _mm256_add_epi64(d, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  __m256i s = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + read_scalar(p + i, n - i);
}
#endif

// The buffer is cut into chunks that the threads pull from a shared counter (the pool's contract,
// see thread-pool.h). Chunk i holds the byte value (i % 255) + 1, so the sum of the buffer is
// known in advance and checks that every byte was really read.
constexpr size_t kChunk = size_t{16} << 20;

struct Probe {
  uint8_t* buf;
  size_t bytes;
  size_t chunks;
  bool simd;
  bool fill;  // first pass writes instead of reading
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> sink{0};
};

uint8_t chunk_byte(size_t chunk) { return static_cast<uint8_t>(chunk % 255 + 1); }

void probe_task(void* ctx, int) {
  Probe& p = *static_cast<Probe*>(ctx);
  uint64_t s = 0;
  for (;;) {
    const size_t c = p.next.fetch_add(1, std::memory_order_relaxed);
    if (c >= p.chunks) break;
    const size_t begin = c * kChunk;
    const size_t n = begin + kChunk < p.bytes ? kChunk : p.bytes - begin;
    if (p.fill) {
      std::memset(p.buf + begin, chunk_byte(c), n);
      continue;
    }
#ifdef MOTIF_X86_SIMD
    s += p.simd ? read_avx2(p.buf + begin, n) : read_scalar(p.buf + begin, n);
#else
    s += read_scalar(p.buf + begin, n);
#endif
  }
  p.sink.fetch_add(s, std::memory_order_relaxed);
}

}  // namespace

bool measure_read_bandwidth(size_t bytes, int threads, int runs, std::vector<double>& gbps,
                            std::string& error) {
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  uint8_t* buf = static_cast<uint8_t*>(std::aligned_alloc(kAlign, rounded));
  if (buf == nullptr) {
    error = "cannot allocate " + std::to_string(rounded) + " bytes for the bandwidth probe";
    return false;
  }
  ThreadPool& pool = shared_pool();
  Probe probe{buf, rounded, (rounded + kChunk - 1) / kChunk, cpu_has_avx2_fma_f16c(), true};
  pool.run(threads, probe_task, &probe);  // first touch maps every page

  uint64_t expected = 0;
  for (size_t c = 0; c < probe.chunks; ++c) {
    const size_t n = c + 1 < probe.chunks ? kChunk : rounded - c * kChunk;
    expected += (n / 8) * (chunk_byte(c) * 0x0101010101010101ull);
  }
  probe.fill = false;
  bool ok = true;
  for (int run = 0; run < runs && ok; ++run) {
    probe.next.store(0);
    probe.sink.store(0);
    auto t0 = std::chrono::steady_clock::now();
    pool.run(threads, probe_task, &probe);
    auto t1 = std::chrono::steady_clock::now();
    gbps.push_back(static_cast<double>(rounded) / std::chrono::duration<double>(t1 - t0).count() / 1e9);
    if (probe.sink.load() != expected) {
      error = "bandwidth probe read back a wrong checksum";
      ok = false;
    }
  }
  std::free(buf);
  return ok;
}

}  // namespace motif
