import { describe, expect, it } from 'vitest';
import { bf16ToNumber, decodeValue, encodeValue, f16ToNumber, f32FromBits, toBf16Bits, toF16Bits } from './dtype.ts';

describe('float32 → bfloat16 (round to nearest even)', () => {
  it.each([
    ['one', 1, 0x3f80],
    ['minus two', -2, 0xc000],
    ['tie rounds down to even', 1 + 2 ** -8, 0x3f80],
    ['tie rounds up to even', 1 + 3 * 2 ** -8, 0x3f82],
    ['just above a tie rounds up', 1 + 2 ** -8 + 2 ** -20, 0x3f81],
    ['just below a tie rounds down', 1 + 2 ** -8 - 2 ** -20, 0x3f80],
    ['positive zero', 0, 0x0000],
    ['negative zero', -0, 0x8000],
    ['infinity', Infinity, 0x7f80],
    ['largest float32 overflows to inf', f32FromBits(0x7f7fffff), 0x7f80],
    ['float32 subnormal', f32FromBits(0x00010000), 0x0001],
  ])('%s', (_name, x, bits) => {
    expect(toBf16Bits(x)).toBe(bits);
  });

  it('keeps NaN a (quiet) NaN', () => {
    expect(Number.isNaN(bf16ToNumber(toBf16Bits(NaN)))).toBe(true);
    expect(Number.isNaN(bf16ToNumber(toBf16Bits(f32FromBits(0x7f800001))))).toBe(true);
  });

  it('round-trips every non-NaN bfloat16 value exactly', () => {
    for (let b = 0; b < 0x10000; b++) {
      const v = bf16ToNumber(b);
      if (Number.isNaN(v)) continue;
      if (toBf16Bits(v) !== b) throw new Error(`bf16 ${b.toString(16)} → ${v} → ${toBf16Bits(v).toString(16)}`);
    }
  });
});

describe('float32 → float16 (round to nearest even, subnormals)', () => {
  it.each([
    ['one', 1, 0x3c00],
    ['minus one and a half', -1.5, 0xbe00],
    ['largest half', 65504, 0x7bff],
    ['below the overflow midpoint', 65519, 0x7bff],
    ['overflow midpoint ties to inf', 65520, 0x7c00],
    ['smallest normal', 2 ** -14, 0x0400],
    ['smallest subnormal', 2 ** -24, 0x0001],
    ['half the smallest subnormal ties to zero', 2 ** -25, 0x0000],
    ['above half the smallest subnormal', 1.5 * 2 ** -25, 0x0001],
    ['subnormal tie to even (up)', 3 * 2 ** -25, 0x0002],
    ['subnormal tie to even (down)', 5 * 2 ** -25, 0x0002],
    ['largest subnormal rounds up into normal', 2 ** -14 - 2 ** -26, 0x0400],
    ['mantissa tie to even', 1 + 2 ** -11, 0x3c00],
    ['mantissa tie to even (up)', 1 + 3 * 2 ** -11, 0x3c02],
    ['negative zero', -0, 0x8000],
    ['minus infinity', -Infinity, 0xfc00],
  ])('%s', (_name, x, bits) => {
    expect(toF16Bits(x)).toBe(bits);
  });

  it('maps NaN to a NaN', () => {
    expect(Number.isNaN(f16ToNumber(toF16Bits(NaN)))).toBe(true);
  });

  it('round-trips every non-NaN half value exactly', () => {
    for (let b = 0; b < 0x10000; b++) {
      const v = f16ToNumber(b);
      if (Number.isNaN(v)) continue;
      if (toF16Bits(v) !== b) throw new Error(`f16 ${b.toString(16)} → ${v} → ${toF16Bits(v).toString(16)}`);
    }
  });

  it('picks the nearer neighbour for values between two halves', () => {
    // Between every pair of adjacent positive normal halves, 1/4 and 3/4 of the way.
    for (let b = 0x0400; b < 0x7bff; b += 97) {
      const lo = f16ToNumber(b);
      const hi = f16ToNumber(b + 1);
      expect(toF16Bits(lo + (hi - lo) / 4)).toBe(b);
      expect(toF16Bits(lo + (3 * (hi - lo)) / 4)).toBe(b + 1);
    }
  });
});

describe('encodeValue / decodeValue', () => {
  it.each(['F32', 'BF16', 'F16'] as const)('%s round-trips values already representable', (dtype) => {
    for (const x of [0, 1, -2, 0.5, 0.375, 3, -0.125]) expect(decodeValue(dtype, encodeValue(dtype, x))).toBe(x);
  });
});
