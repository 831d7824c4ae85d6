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

// binary32 → binary16 bits, round to nearest even (overflow → ±inf, NaN stays NaN).
inline uint16_t f32_to_f16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t exp = (u >> 23) & 0xffu;
  uint32_t mant = u & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  if (exp > 142) return static_cast<uint16_t>(sign | 0x7c00u);
  if (exp >= 113) {
    uint32_t h = ((exp - 112) << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry moves into the exponent
    return static_cast<uint16_t>(sign | h);
  }
  if (exp < 102) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
  // Subnormal: the value in units of 2^-24, rounded half to even.
  mant |= 0x800000u;
  const uint32_t shift = 126 - exp;  // 14..24
  uint32_t h = mant >> shift;
  const uint32_t rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

}  // namespace motif
