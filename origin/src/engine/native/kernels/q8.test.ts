import { describe, expect, it } from 'vitest';
import type { WeightMatrix } from './dtype.ts';
import { f16ToF32, f32ArrayToBf16, f32ArrayToF16, f32ToF16, Q8_BLOCK_BYTES, weightDataLength } from './dtype.ts';
import { createJsKernel } from './matmul.ts';
import { quantizeQ8, quantizeQ8Blocks, scaleBits } from './q8.ts';
import { dequantizeQ8, q8Reference } from './q8-reference.ts';

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randomF32 = (rand: () => number, n: number, scale = 1) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
const f32Matrix = (data: Float32Array, rows: number, cols: number): WeightMatrix => ({ dtype: 'F32', data, rows, cols });

describe('quantizeQ8', () => {
  it('writes llama.cpp block_q8_0: f16 scale max|w|/127 (little-endian), then round(w/d)', () => {
    const w = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? (i - 16) / 10 : i === 40 ? -2.54 : 0.01));
    const q = quantizeQ8(f32Matrix(w, 1, 64));
    expect(q.dtype).toBe('Q8_0');
    const bytes = q.data as Uint8Array;
    expect(bytes.length).toBe(2 * Q8_BLOCK_BYTES);
    expect(bytes[0]! | (bytes[1]! << 8)).toBe(f32ToF16(1.6 / 127));
    const d0 = f16ToF32(f32ToF16(1.6 / 127));
    const q0 = new Int8Array(bytes.buffer, 2, 32);
    expect(q0[0]).toBe(Math.round(-1.6 / d0));
    expect(q0[16]).toBe(0);
    const q1 = new Int8Array(bytes.buffer, Q8_BLOCK_BYTES + 2, 32);
    expect(q1[8]).toBe(-127);
    expect(q1[0]).toBe(Math.round(0.01 / f16ToF32(f32ToF16(2.54 / 127))));
  });

  it('keeps every weight within about half a step of its block scale', () => {
    const rand = seeded(1);
    const w = randomF32(rand, 8 * 96, 0.05);
    const q = quantizeQ8(f32Matrix(w, 8, 96));
    const back = dequantizeQ8(q);
    for (let b = 0; b < w.length / 32; b++) {
      const block = w.subarray(b * 32, b * 32 + 32);
      const d = Math.max(...block.map(Math.abs)) / 127;
      for (let k = 0; k < 32; k++) expect(Math.abs(back[b * 32 + k]! - block[k]!)).toBeLessThanOrEqual(0.6 * d);
    }
  });

  it('quantises BF16 and F16 weights as their f32 values, and leaves Q8_0 alone', () => {
    const w = randomF32(seeded(2), 2 * 64, 0.1);
    const asBf16 = Float32Array.from(f32ArrayToBf16(w), (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]!);
    const fromBf16 = quantizeQ8({ dtype: 'BF16', data: f32ArrayToBf16(w), rows: 2, cols: 64 });
    expect(fromBf16.data).toEqual(quantizeQ8(f32Matrix(asBf16, 2, 64)).data);
    const asF16 = Float32Array.from(f32ArrayToF16(w), f16ToF32);
    expect(quantizeQ8({ dtype: 'F16', data: f32ArrayToF16(w), rows: 2, cols: 64 }).data).toEqual(quantizeQ8(f32Matrix(asF16, 2, 64)).data);
    expect(quantizeQ8(fromBf16)).toBe(fromBf16);
  });

  it.each([
    ['a row length off the block size', 1, 48, /multiple of 32, got 48/],
    ['a row shorter than a block', 3, 16, /multiple of 32, got 16/],
  ])('refuses %s', (_name, rows, cols, message) => {
    expect(() => quantizeQ8(f32Matrix(new Float32Array(rows * cols), rows, cols))).toThrow(message);
  });

  it('refuses weights whose block scale overflows an f16', () => {
    const w = new Float32Array(32).fill(1e7);
    expect(() => quantizeQ8(f32Matrix(w, 1, 32))).toThrow(/too large for an f16 block scale/);
  });

  it('encodes block scales to f16 as f32ToF16 does, subnormal to overflow', () => {
    const rand = seeded(5);
    const values = [
      0,
      2 ** -25,
      2 ** -24,
      3e-6,
      6.1e-5,
      6.104e-5,
      1,
      65504,
      65520,
      1e6,
      ...Array.from({ length: 2000 }, () => Math.fround(10 ** (rand() * 14 - 9))),
    ];
    for (const v of values) expect(scaleBits(Math.fround(v))).toBe(f32ToF16(Math.fround(v)));
  });

  it('sizes the data as whole blocks', () => {
    expect(weightDataLength('Q8_0', 3, 64)).toBe(3 * 2 * 34);
    expect(weightDataLength('BF16', 3, 64)).toBe(192);
  });
});

describe('quantizeQ8Blocks (activations)', () => {
  it('rounds halves away from zero and maps an all-zero block to scale 0', () => {
    const x = new Float32Array(64);
    x[0] = 127;
    x[1] = 0.5;
    x[2] = -0.5;
    x[3] = -1.5;
    const xq = new Int8Array(64);
    const xd = new Float32Array(2);
    quantizeQ8Blocks(x, 64, xq, xd);
    expect([...xd]).toEqual([1, 0]);
    expect([...xq.subarray(0, 4)]).toEqual([127, 1, -1, -2]);
    expect(xq.subarray(32).every((v) => v === 0)).toBe(true);
  });
});

describe('the JS kernel on Q8_0 weights', () => {
  const js = createJsKernel();
  it.each([
    [1, 32, 1],
    [1, 64, 7],
    [3, 96, 5],
    [5, 160, 9],
    [17, 256, 3],
  ])('matches the scalar reference: rows %i, in %i, out %i', (rows, cols, out) => {
    const rand = seeded(rows * 1000 + cols + out);
    const w = quantizeQ8(f32Matrix(randomF32(rand, out * cols, 0.1), out, cols));
    const x = randomF32(rand, rows * cols);
    const y = new Float32Array(rows * out);
    js.matmul(y, x, rows, w);
    const ref = q8Reference(x, rows, w);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - ref.y[i]!)).toBeLessThanOrEqual(1e-6 * ref.abs[i]! + 1e-30);
  });

  it('stays close to the unquantised product', () => {
    const rand = seeded(9);
    const wf = randomF32(rand, 16 * 512, 0.05);
    const x = randomF32(rand, 512);
    const exact = new Float32Array(16);
    const y = new Float32Array(16);
    js.matmul(exact, x, 1, f32Matrix(wf, 16, 512));
    js.matmul(y, x, 1, quantizeQ8(f32Matrix(wf, 16, 512)));
    const scale = Math.sqrt(exact.reduce((s, v) => s + v * v, 0) / 16);
    for (let i = 0; i < 16; i++) expect(Math.abs(y[i]! - exact[i]!)).toBeLessThan(0.02 * scale);
  });

  it('reads a dequantised row', () => {
    const w = quantizeQ8(f32Matrix(randomF32(seeded(4), 3 * 64, 0.1), 3, 64));
    const dst = new Float32Array(66);
    js.readRow(w, 2, dst, 2);
    expect([...dst.subarray(2)]).toEqual([...dequantizeQ8(w).subarray(128)]);
  });
});
