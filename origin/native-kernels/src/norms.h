// The row norms of the forward pass (the engine's forward/norms.ts, SPEC §2.4 and §2.6) on the
// thread pool: RMSNorm, and PolyNorm over the fused gate/up projection times up. The JS versions
// stay the reference and the portable path; these exist because at prefill sizes the JS loops
// took about a tenth of a 512-token prompt's time. Sums and the polynomial run in double, as in
// JS, so results match it to the last bit or within one f32 rounding.
#pragma once

#include <cstdint>

#include "matmul.h"

namespace motif {

// dst[r] = gain ⊙ src[r] / √(mean(src[r]²) + eps) for rows × width; dst may alias src.
void rms_norm_rows(float* dst, const float* src, int64_t rows, int64_t width, const float* gain, double eps, int max_threads,
                   Simd max_simd);

// Row r of gate_up is [gate (width) ‖ up (width)]; dst[r] = (w₀·N(g³) + w₁·N(g²) + w₂·N(g) + bias) ⊙ up,
// N(u) = u / √(mean(u²) + eps). weight holds w₀, w₁, w₂. dst must not overlap gate_up.
void poly_norm_gate_fused(float* dst, const float* gate_up, int64_t rows, int64_t width, const double weight[3], double bias,
                          double eps, int max_threads, Simd max_simd);

}  // namespace motif
