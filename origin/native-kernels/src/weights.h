// Scalar decoding of the 16-bit weight formats. Bf16/F16 wrap the raw uint16 so templates can
// pick the conversion by type (they have the same size and layout as uint16_t).
#pragma once

#include <cstdint>
#include <cstring>

namespace motif {

struct Bf16 { uint16_t bits; };
struct F16 { uint16_t bits; };
static_assert(sizeof(Bf16) == 2 && sizeof(F16) == 2, "16-bit weight wrappers must stay 2 bytes");

inline float bits_to_f32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float to_f32(float v) { return v; }

// BF16 is the top half of an IEEE binary32, so widening is a shift.
inline float to_f32(Bf16 v) { return bits_to_f32(static_cast<uint32_t>(v.bits) << 16); }

// IEEE binary16 → binary32, exact for every input (subnormals, ±inf, NaN payloads).
inline float to_f32(F16 v) {
  uint32_t sign = static_cast<uint32_t>(v.bits & 0x8000u) << 16;
  uint32_t exp = (v.bits >> 10) & 0x1fu;
  uint32_t mant = v.bits & 0x3ffu;
  if (exp == 0) {
    // Zero or subnormal: mant · 2^-24, exact in binary32.
    float f = static_cast<float>(mant) * (1.0f / 16777216.0f);
    return sign ? -f : f;
  }
  if (exp == 31) return bits_to_f32(sign | 0x7f800000u | (mant << 13));
  return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

}  // namespace motif
