// The portable path: plain C++ the compiler may auto-vectorise for the build target (SSE2 on
// x86-64, NEON on arm64). Used when the CPU lacks AVX2/FMA/F16C or the caller asks for it.
#include <cstring>

#include "matmul.h"
#include "weights.h"

namespace motif {
namespace {

template <class T>
void slice(const Matmul& m, int64_t o_begin, int64_t o_end) {
  const T* w = static_cast<const T*>(m.w);
  for (int64_t o = o_begin; o < o_end; ++o) {
    // One W row at a time, used by every row of x while it is hot in L1: W is read from memory
    // once per call.
    const T* wr = w + o * m.in;
    for (int64_t r = 0; r < m.rows; ++r) {
      const float* xr = m.x + r * m.in;
      // Four partial sums break the dependency chain so the adds can overlap.
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t k = 0;
      for (; k + 4 <= m.in; k += 4) {
        s0 += xr[k] * to_f32(wr[k]);
        s1 += xr[k + 1] * to_f32(wr[k + 1]);
        s2 += xr[k + 2] * to_f32(wr[k + 2]);
        s3 += xr[k + 3] * to_f32(wr[k + 3]);
      }
      for (; k < m.in; ++k) s0 += xr[k] * to_f32(wr[k]);
      m.y[r * m.out + o] = (s0 + s1) + (s2 + s3);
    }
  }
}

}  // namespace

void matmul_slice_scalar(const Matmul& m, int64_t o_begin, int64_t o_end) {
  switch (m.wtype) {
    case WeightType::F32: return slice<float>(m, o_begin, o_end);
    case WeightType::BF16: return slice<Bf16>(m, o_begin, o_end);
    case WeightType::F16: return slice<F16>(m, o_begin, o_end);
    case WeightType::Q8_0: return matmul_slice_q8_scalar(m, o_begin, o_end);
    case WeightType::Q8_0x16: return matmul_slice_q8x16_scalar(m, o_begin, o_end);
  }
}

}  // namespace motif
