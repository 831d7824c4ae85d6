import { describe, expect, it } from 'vitest';
import { bf16ToF32, createF16Table, f16ToF32, f32ArrayToBf16, f32ArrayToF16, f32BitsToBf16, f32ToF16, storedToF32 } from './dtype.ts';

describe('16-bit conversions', () => {
  it.each([
    [0x3f80, 1],
    [0xbf80, -1],
    [0x4049, 3.140625],
    [0x0000, 0],
    [0x7f80, Infinity],
    [0xff80, -Infinity],
    [0x0001, 2 ** -133], // smallest bf16 subnormal
  ])('bf16 %s → %s', (bits, value) => {
    expect(bf16ToF32(bits)).toBe(value);
  });

  it('bf16 NaN bits decode to NaN and NaN encodes as NaN', () => {
    expect(bf16ToF32(0x7fc0)).toBeNaN();
    expect(bf16ToF32(f32ArrayToBf16(Float32Array.of(NaN))[0]!)).toBeNaN();
  });

  it('bf16 encoding rounds to nearest even', () => {
    // 1 + 2^-8 is exactly between 1 and 1 + 2^-7: ties go to the even mantissa (1).
    expect([...f32ArrayToBf16(Float32Array.of(1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20))]).toEqual([0x3f80, 0x3f82, 0x3f81]);
  });

  it.each([
    [0x3f808000, 0x3f80], // tie → even (down)
    [0x3f818000, 0x3f82], // tie → even (up)
    [0x7f7fffff, 0x7f80], // largest f32 overflows to +inf
    [0xff7fffff, 0xff80], // … and to −inf
    [0x7f800001, 0x7fc0], // signalling NaN comes out quiet
    [0xff800001, 0xffc0], // NaN keeps its sign
    [0x7fffffff, 0x7fff], // NaN payload's top bits kept, no rounding carry
  ])('bf16 encoding of f32 bits %s → %s', (bits, out) => {
    expect(f32BitsToBf16(bits)).toBe(out);
  });

  it('the array encoder is the scalar one element-wise', () => {
    const src = Float32Array.of(0, -0, 1.5, -3.25, 1e-40, 3e38, Infinity, -Infinity, NaN);
    const u32 = new Uint32Array(Float32Array.from(src).buffer);
    expect([...f32ArrayToBf16(src)]).toEqual([...u32].map(f32BitsToBf16));
  });

  it.each([
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x0400, 2 ** -14],
    [0x7c00, Infinity],
    [0x8000, -0],
  ])('f16 %s ↔ %s', (bits, value) => {
    expect(f16ToF32(bits)).toBe(value);
    expect(f32ToF16(value)).toBe(bits);
  });

  it('f16 encoding rounds, overflows to infinity and keeps NaN', () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16(70000)).toBe(0x7c00);
    expect(f32ToF16(65520)).toBe(0x7c00); // rounds up past the largest half
    expect(f32ToF16(3 * 2 ** -26)).toBe(0x0001); // 0.75 ulp of the smallest subnormal
    expect(f16ToF32(f32ToF16(NaN))).toBeNaN();
  });

  it('every half value survives f16 → f32 → f16 and the table agrees', () => {
    const table = createF16Table();
    const bad: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const v = f16ToF32(b);
      if (Number.isNaN(v) ? !Number.isNaN(table[b]!) : f32ToF16(v) !== b || !Object.is(table[b], v)) bad.push(b);
    }
    expect(bad).toEqual([]);
  });

  it('widens stored tensors', () => {
    const src = Float32Array.of(0.5, -3, 1.25);
    expect([...storedToF32({ dtype: 'BF16', data: f32ArrayToBf16(src) })]).toEqual([0.5, -3, 1.25]);
    expect([...storedToF32({ dtype: 'F16', data: f32ArrayToF16(src) })]).toEqual([0.5, -3, 1.25]);
    const copy = storedToF32({ dtype: 'F32', data: src });
    expect(copy).not.toBe(src);
    expect([...copy]).toEqual([...src]);
  });
});
