// The AMX GEMM for BF16 weights and many rows of x (prefill chunks): TDPBF16PS multiplies a tile
// of 16 rows × 32 BF16 of x by 32 × 16 BF16 of W into 16 × 16 f32 sums, 8,192 multiply-adds per
// instruction. With x in three parts (below) it still measured 1.7–2× the AVX-512 FMA GEMM on
// prefill shapes (native-kernels/README.md).
//
// Numbers: W is BF16 already, so its products with a BF16 value are exact in f32. x is f32, so it
// is split into kAmxParts BF16 parts, x = hi + mid + lo (+ at most 2^-24·|x|: hi = bf16(x),
// mid = bf16(x − hi), lo = bf16(x − hi − mid), each difference exact in f32), and every part is
// multiplied by W. Three parts carry as many bits of x as f32 does, so the result meets the same
// bound as the f32 FMA GEMMs (the addon tests hold every path to it); two would run ~30% faster
// but lose up to 2^-16 of each x. Where f32 would not be finite the paths differ: an infinite x
// or weight, or |x| past BF16's largest value (~3.39e38), gives NaN or ±inf here (the zero or
// infinite parts meet the other operand), and the tiles read BF16 subnormal weights (< 1.2e-38)
// as zero. Non-finite input still gives non-finite output, never a finite value.
//
// Layout, per thread over its slice of outputs (multiples of 32):
//   - x is packed once per call, before the slices run, into 16 × 32 tiles per part
//     ([token tile][k block][part], 1 KiB each), rows past the last padded with zeros.
//   - For each K chunk (kKc) and chunk of token tiles (kTc rows, whose x tiles stay in L2), each
//     panel of 32 outputs is transposed into the pair layout TDPBF16PS wants for its second
//     operand ([k block][output tile][16 pairs of K][16 outputs], 1 KiB per tile) and reused by
//     every token tile.
//   - Four accumulator tiles (2 token tiles × 2 output tiles) stay in tile registers over the
//     whole K chunk and go straight to y (through a scratch tile for a partial last token tile).
#include "cpu.h"
#include "matmul.h"

// The AMX intrinsics need GCC 11 / clang 12 or later; older compilers build the stub below.
#if defined(MOTIF_X86_SIMD) && ((defined(__clang__) && __clang_major__ >= 12) || (!defined(__clang__) && __GNUC__ >= 11))
#define MOTIF_AMX_BUILD 1
#endif

#ifdef MOTIF_AMX_BUILD
#include <immintrin.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "thread-pool.h"

#define MOTIF_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))

namespace motif {
namespace {

constexpr int64_t kKc = 2048;  // K per chunk: one panel's 32 × kKc BF16 pairs are 128 KiB (L2)
constexpr int64_t kTc = 128;   // rows of x per chunk: 128 × kKc × 3 parts × 2 bytes = 1.5 MiB (L2)

// GCC's tile load intrinsic (and its tile-config load, which it declares as reading 8 bytes) are
// asm statements that do not tell the compiler what memory they read: without this fence it may
// drop or move the plain stores a load is about to read (the partial tile's scratch, the packed
// panel, the config) or move the next scratch fill above a load that still reads it.
inline void memory_fence() { __asm__ __volatile__("" ::: "memory"); }

struct TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0–3: sums (token tile t, output tile j) at 2t + j; 4, 5: W pairs of output tiles 0, 1;
// 6, 7: x of token tiles 0, 1. All 16 rows of 64 bytes.
MOTIF_AMX void load_config() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  memory_fence();
  _tile_loadconfig(&cfg);
}

// r[i] (16 words each) ← its transpose: r[i][j] = old r[j][i].
MOTIF_AMX inline void transpose16(__m512i (&r)[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 8; ++i) {
    const int a = (i / 4) * 8 + i % 4, b = a + 4;
    t[a] = _mm512_shuffle_i32x4(r[a], r[b], 0x88);
    t[b] = _mm512_shuffle_i32x4(r[a], r[b], 0xdd);
  }
  for (int a = 0; a < 8; ++a) {
    r[a] = _mm512_shuffle_i32x4(t[a], t[a + 8], 0x88);
    r[a + 8] = _mm512_shuffle_i32x4(t[a], t[a + 8], 0xdd);
  }
}

// W rows o … o+31, K blocks [kb0, kb0 + kbn) → pairs[(kb·2 + j)·256 + q·16 + n] = the 32-bit word
// holding W[o + 16j + n, 32(kb0 + kb) + 2q] and the K after it.
MOTIF_AMX void pack_panel(const uint16_t* w, int64_t in, int64_t o, int64_t kb0, int64_t kbn, uint32_t* pairs) {
  for (int64_t kb = 0; kb < kbn; ++kb) {
    for (int j = 0; j < 2; ++j) {
      __m512i r[16];
      for (int n = 0; n < 16; ++n) r[n] = _mm512_loadu_si512(w + (o + 16 * j + n) * in + 32 * (kb0 + kb));
      transpose16(r);
      uint32_t* dst = pairs + (kb * 2 + j) * 256;
      for (int q = 0; q < 16; ++q) _mm512_storeu_si512(dst + q * 16, r[q]);
    }
  }
}

struct PackJob {
  const float* x;
  int64_t rows, in, tiles;
  uint16_t* xa;
  std::atomic<int64_t> next{0};
};

// Token tiles taken in turn from the counter: each row's K blocks → kAmxParts BF16 rows.
MOTIF_AMX void pack_x_pieces(void* ctx, int) {
  auto& job = *static_cast<PackJob*>(ctx);
  const int64_t kbs = job.in / 32;
  // Word 2i + 1 of the result takes word i (a's BF16) or 16 + i (b's); even words are zeroed.
  constexpr __mmask32 kHighHalves = 0xAAAAAAAAu;
  alignas(64) uint16_t ia[32], ib[32];
  for (int i = 0; i < 32; ++i) ia[i] = ib[i] = static_cast<uint16_t>(i / 2), ib[i] += 16;
  const __m512i widen_a = _mm512_load_si512(ia), widen_b = _mm512_load_si512(ib);
  for_each_piece(job.next, job.tiles, 1, [&](int64_t tb) MOTIF_AMX {
    for (int n = 0; n < 16; ++n) {
      const int64_t t = tb * 16 + n;
      const float* xr = job.x + t * job.in;
      for (int64_t kb = 0; kb < kbs; ++kb) {
        __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
        if (t < job.rows) {
          a = _mm512_loadu_ps(xr + kb * 32);
          b = _mm512_loadu_ps(xr + kb * 32 + 16);
        }
        for (int p = 0; p < kAmxParts; ++p) {
          const __m512i h = (__m512i)_mm512_cvtne2ps_pbh(b, a);
          _mm512_storeu_si512(job.xa + (((tb * kbs + kb) * kAmxParts + p) * 16 + n) * 32, h);
          // What this part left over (exact in f32), for the next part: each BF16 moved into the
          // high half of a zeroed 32-bit lane is its f32 value.
          const __m512 ha = _mm512_castsi512_ps(_mm512_maskz_permutexvar_epi16(kHighHalves, widen_a, h));
          const __m512 hb = _mm512_castsi512_ps(_mm512_maskz_permutexvar_epi16(kHighHalves, widen_b, h));
          a = _mm512_sub_ps(a, ha);
          b = _mm512_sub_ps(b, hb);
        }
      }
    }
  });
}

// Accumulator tile `c` (0–3; the tile number must be a constant) ↔ y rows [16·tt, …) × 16 outputs
// from `o`. A partial last token tile goes through `scratch`.
#define MOTIF_AMX_TILE_IO(c)                                                                                  \
  MOTIF_AMX inline void load_sums##c(const Matmul& m, int64_t tt, int64_t o, bool first, float* scratch) {    \
    if (first) {                                                                                              \
      _tile_zero(c);                                                                                          \
      return;                                                                                                 \
    }                                                                                                         \
    const float* y = m.y + tt * 16 * m.out + o;                                                               \
    const int64_t valid = m.rows - tt * 16;                                                                   \
    if (valid >= 16) {                                                                                        \
      _tile_loadd(c, y, m.out * 4);                                                                           \
      return;                                                                                                 \
    }                                                                                                         \
    std::memset(scratch, 0, 16 * 64);                                                                         \
    for (int64_t i = 0; i < valid; ++i) std::memcpy(scratch + i * 16, y + i * m.out, 64);                     \
    memory_fence();                                                                                           \
    _tile_loadd(c, scratch, 64);                                                                              \
    memory_fence();                                                                                           \
  }                                                                                                           \
  MOTIF_AMX inline void store_sums##c(const Matmul& m, int64_t tt, int64_t o, float* scratch) {               \
    float* y = m.y + tt * 16 * m.out + o;                                                                     \
    const int64_t valid = m.rows - tt * 16;                                                                   \
    if (valid >= 16) {                                                                                        \
      _tile_stored(c, y, m.out * 4);                                                                          \
      return;                                                                                                 \
    }                                                                                                         \
    _tile_stored(c, scratch, 64);                                                                             \
    memory_fence();                                                                                           \
    for (int64_t i = 0; i < valid; ++i) std::memcpy(y + i * m.out, scratch + i * 16, 64);                     \
  }
MOTIF_AMX_TILE_IO(0)
MOTIF_AMX_TILE_IO(1)
MOTIF_AMX_TILE_IO(2)
MOTIF_AMX_TILE_IO(3)
#undef MOTIF_AMX_TILE_IO

// y[token tiles tt, tt+1 (if two)] × outputs o … o+31 over K blocks [kb0, kb0 + kbn).
MOTIF_AMX void tiles(const Matmul& m, const uint32_t* pairs, int64_t tt, bool two, int64_t o, int64_t kb0, int64_t kbn, float* scratch) {
  const bool first = kb0 == 0;
  const int64_t kbs = m.in / 32;
  memory_fence();
  load_sums0(m, tt, o, first, scratch);
  load_sums1(m, tt, o + 16, first, scratch);
  if (two) {
    load_sums2(m, tt + 1, o, first, scratch);
    load_sums3(m, tt + 1, o + 16, first, scratch);
  }
  const uint16_t* x0 = m.xa + (tt * kbs + kb0) * kAmxParts * 512;
  const uint16_t* x1 = x0 + kbs * kAmxParts * 512;
  for (int64_t kb = 0; kb < kbn; ++kb) {
    _tile_loadd(4, pairs + kb * 512, 64);
    _tile_loadd(5, pairs + kb * 512 + 256, 64);
    for (int p = 0; p < kAmxParts; ++p) {
      const int64_t at = (kb * kAmxParts + p) * 512;
      _tile_loadd(6, x0 + at, 64);
      _tile_dpbf16ps(0, 6, 4);
      _tile_dpbf16ps(1, 6, 5);
      if (two) {
        _tile_loadd(7, x1 + at, 64);
        _tile_dpbf16ps(2, 7, 4);
        _tile_dpbf16ps(3, 7, 5);
      }
    }
  }
  memory_fence();
  store_sums0(m, tt, o, scratch);
  store_sums1(m, tt, o + 16, scratch);
  if (two) {
    store_sums2(m, tt + 1, o, scratch);
    store_sums3(m, tt + 1, o + 16, scratch);
  }
}

}  // namespace

int64_t amx_packed_x_size(int64_t rows, int64_t in) { return (rows + 15) / 16 * (in / 32) * kAmxParts * 512; }

void amx_pack_x(const float* x, int64_t rows, int64_t in, uint16_t* xa, int max_threads) {
  PackJob job{x, rows, in, (rows + 15) / 16, xa};
  ThreadPool& pool = shared_pool();
  int n = pool.size();
  if (max_threads > 0 && max_threads < n) n = max_threads;
  pool.run(n, pack_x_pieces, &job);
}

MOTIF_AMX void matmul_slice_amx(const Matmul& m, int64_t o_begin, int64_t o_end) {
  thread_local std::vector<uint32_t> pairs_buf(kKc / 32 * 512);
  alignas(64) float scratch[16 * 16];
  uint32_t* pairs = pairs_buf.data();
  const int64_t token_tiles = (m.rows + 15) / 16;
  load_config();
  for (int64_t k0 = 0; k0 < m.in; k0 += kKc) {
    const int64_t kb0 = k0 / 32, kbn = (k0 + kKc < m.in ? kKc : m.in - k0) / 32;
    for (int64_t t0 = 0; t0 < token_tiles; t0 += kTc / 16) {
      const int64_t t1 = t0 + kTc / 16 < token_tiles ? t0 + kTc / 16 : token_tiles;
      for (int64_t o = o_begin; o < o_end; o += kAmxOutBlock) {
        pack_panel(static_cast<const uint16_t*>(m.w), m.in, o, kb0, kbn, pairs);
        for (int64_t tt = t0; tt < t1; tt += 2) tiles(m, pairs, tt, tt + 1 < t1, o, kb0, kbn, scratch);
      }
    }
  }
  _tile_release();
}

bool matmul_amx_compiled() { return true; }

}  // namespace motif

#else  // no x86 SIMD build, or a compiler without AMX: the dispatcher never picks this path

namespace motif {

int64_t amx_packed_x_size(int64_t, int64_t) { return 0; }
void amx_pack_x(const float*, int64_t, int64_t, uint16_t*, int) {}
void matmul_slice_amx(const Matmul&, int64_t, int64_t) {}
bool matmul_amx_compiled() { return false; }

}  // namespace motif

#endif
