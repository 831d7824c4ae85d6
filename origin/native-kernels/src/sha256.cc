// SHA-256 with the x86 SHA extensions, several messages interleaved (see sha256.h). FIPS 180-4:
// the round constants and initial state below are the standard's; the state is kept in the
// ABEF/CDGH lane order the SHA256RNDS2 instruction works on.
#include "sha256.h"

#include <cstring>

#include "cpu.h"

#ifdef MOTIF_X86_SIMD
#include <immintrin.h>
#endif

namespace motif {

#ifdef MOTIF_X86_SIMD
namespace {

alignas(16) constexpr uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr uint32_t kInit[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr int kLanes = 4;

// `blocks` 64-byte blocks of each of `N` messages through their states, in lockstep: the
// independent round chains of the lanes fill each other's latency gaps.
template <int N>
__attribute__((target("sha,sse4.1,ssse3"))) void compress(uint32_t (*state)[8], const uint8_t* const* data, size_t blocks) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i abef[N], cdgh[N];
  for (int s = 0; s < N; ++s) {
    __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[s][0])), 0xB1);
    __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[s][4])), 0x1B);
    abef[s] = _mm_alignr_epi8(dcba, hgfe, 8);
    cdgh[s] = _mm_blend_epi16(hgfe, dcba, 0xF0);
  }
  for (size_t b = 0; b < blocks; ++b) {
    __m128i w[N][4], abef0[N], cdgh0[N];
    for (int s = 0; s < N; ++s) {
      abef0[s] = abef[s];
      cdgh0[s] = cdgh[s];
      const uint8_t* p = data[s] + 64 * b;
      for (int j = 0; j < 4; ++j) w[s][j] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * j)), bswap);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {  // 4 rounds per step; w[i&3] becomes W[4i..4i+3]
      const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(&kRound[4 * i]));
      for (int s = 0; s < N; ++s) {
        if (i >= 4) {
          __m128i x = _mm_sha256msg1_epu32(w[s][i & 3], w[s][(i + 1) & 3]);
          x = _mm_add_epi32(x, _mm_alignr_epi8(w[s][(i + 3) & 3], w[s][(i + 2) & 3], 4));
          w[s][i & 3] = _mm_sha256msg2_epu32(x, w[s][(i + 3) & 3]);
        }
        __m128i msg = _mm_add_epi32(w[s][i & 3], k);
        cdgh[s] = _mm_sha256rnds2_epu32(cdgh[s], abef[s], msg);
        abef[s] = _mm_sha256rnds2_epu32(abef[s], cdgh[s], _mm_shuffle_epi32(msg, 0x0E));
      }
    }
    for (int s = 0; s < N; ++s) {
      abef[s] = _mm_add_epi32(abef[s], abef0[s]);
      cdgh[s] = _mm_add_epi32(cdgh[s], cdgh0[s]);
    }
  }
  for (int s = 0; s < N; ++s) {
    __m128i feba = _mm_shuffle_epi32(abef[s], 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh[s], 0xB1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[s][0]), _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[s][4]), _mm_alignr_epi8(dchg, feba, 8));
  }
}

void compress_n(int n, uint32_t (*state)[8], const uint8_t* const* data, size_t blocks) {
  switch (n) {
    case 4: return compress<4>(state, data, blocks);
    case 3: return compress<3>(state, data, blocks);
    case 2: return compress<2>(state, data, blocks);
    default: return compress<1>(state, data, blocks);
  }
}

// The message's last partial block, the 0x80 marker and the bit length: one or two blocks.
size_t pad_tail(const uint8_t* msg, size_t len, uint8_t tail[128]) {
  const size_t full = len & ~size_t{63};
  const size_t rest = len - full;
  std::memset(tail, 0, 128);
  if (rest) std::memcpy(tail, msg + full, rest);
  tail[rest] = 0x80;
  const size_t blocks = rest + 9 <= 64 ? 1 : 2;
  const uint64_t bits = static_cast<uint64_t>(len) * 8;
  for (int i = 0; i < 8; ++i) tail[blocks * 64 - 1 - i] = static_cast<uint8_t>(bits >> (8 * i));
  return blocks;
}

}  // namespace

bool cpu_has_sha_ni() {
  __builtin_cpu_init();
  // GCC 12 has no __builtin_cpu_supports("sha"): CPUID leaf 7, EBX bit 29; SSE4.1 for the blends.
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
  if (a < 7) return false;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
  return ((b >> 29) & 1) != 0 && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
}

void sha256_batch(const uint8_t* const* data, const size_t* len, size_t n, uint8_t* out) {
  for (size_t first = 0; first < n; first += kLanes) {
    const int lanes = static_cast<int>(n - first < kLanes ? n - first : kLanes);
    uint32_t state[kLanes][8];
    const uint8_t* ptr[kLanes];
    size_t blocks[kLanes];
    size_t common = SIZE_MAX;
    for (int s = 0; s < lanes; ++s) {
      std::memcpy(state[s], kInit, sizeof kInit);
      ptr[s] = data[first + s];
      blocks[s] = len[first + s] / 64;
      if (blocks[s] < common) common = blocks[s];
    }
    // The blocks every lane has, abreast; then each lane's own remainder and padding alone.
    compress_n(lanes, state, ptr, common);
    for (int s = 0; s < lanes; ++s) {
      const uint8_t* at = ptr[s] + 64 * common;
      compress_n(1, &state[s], &at, blocks[s] - common);
      alignas(16) uint8_t tail[128];
      const uint8_t* t = tail;
      compress_n(1, &state[s], &t, pad_tail(ptr[s], len[first + s], tail));
      uint8_t* o = out + 32 * (first + s);
      for (int i = 0; i < 8; ++i) {
        o[4 * i] = static_cast<uint8_t>(state[s][i] >> 24);
        o[4 * i + 1] = static_cast<uint8_t>(state[s][i] >> 16);
        o[4 * i + 2] = static_cast<uint8_t>(state[s][i] >> 8);
        o[4 * i + 3] = static_cast<uint8_t>(state[s][i]);
      }
    }
  }
}

#else  // portable build: no SHA-NI path; callers use their own SHA-256

bool cpu_has_sha_ni() { return false; }
void sha256_batch(const uint8_t* const*, const size_t*, size_t, uint8_t*) {}

#endif

}  // namespace motif
