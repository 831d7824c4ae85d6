import { describe, expect, it } from 'vitest';
import { createRope } from './rope.ts';

function rotated(position: number, x: number[], theta = 10000): number[] {
  const rope = createRope(x.length, theta);
  const cos = new Float64Array(x.length / 2);
  const sin = new Float64Array(x.length / 2);
  rope.angles(position, cos, sin, 0);
  const buf = Float32Array.from(x);
  rope.rotate(buf, 0, 1, cos, sin, 0);
  return [...buf];
}

describe('RoPE', () => {
  it('is the identity at position 0', () => {
    expect(rotated(0, [1, 2, 3, 4, 5, 6, 7, 8])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('pairs channel i with i + d/2 (rotate-half), not 2i with 2i+1', () => {
    // Only channel 0 set: frequency 0 rotates it into channel d/2 = 2, leaving channel 1 alone.
    const y = rotated(1, [1, 0, 0, 0]);
    expect(y[0]).toBeCloseTo(Math.cos(1), 6);
    expect(y[1]).toBe(0);
    expect(y[2]).toBeCloseTo(Math.sin(1), 6);
    expect(y[3]).toBe(0);
  });

  it('uses θ^(−2i/d) per pair and keeps norms', () => {
    const theta = 100;
    const y = rotated(3, [0, 1, 0, 0], theta);
    const a = 3 * theta ** (-2 / 4);
    expect(y[1]).toBeCloseTo(Math.cos(a), 6);
    expect(y[3]).toBeCloseTo(Math.sin(a), 6);
    const z = rotated(12345, [0.3, -1, 2, 0.5, 1, 1, -2, 0]);
    const norm = (v: number[]) => Math.hypot(...v);
    expect(norm(z)).toBeCloseTo(norm([0.3, -1, 2, 0.5, 1, 1, -2, 0]), 5);
  });

  it('rotates several heads with one table entry', () => {
    const rope = createRope(2, 10000);
    const cos = new Float64Array(2);
    const sin = new Float64Array(2);
    rope.angles(2, cos, sin, 1);
    const buf = Float32Array.of(9, 1, 0, 1, 0);
    rope.rotate(buf, 1, 2, cos, sin, 1);
    expect(buf[0]).toBe(9);
    [Math.cos(2), Math.sin(2), Math.cos(2), Math.sin(2)].forEach((v, i) => expect(buf[i + 1]).toBeCloseTo(v, 6));
  });

  it('rejects an odd head size or a bad theta', () => {
    expect(() => createRope(3, 10000)).toThrow(RangeError);
    expect(() => createRope(4, 0)).toThrow(RangeError);
  });
});
