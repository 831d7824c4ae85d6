/**
 * Rotary position embedding, NeoX "rotate-half" convention (SPEC §2.5 step 2): channel i pairs
 * with channel i + d/2 (not 2i with 2i+1). Frequencies and angles are computed in float64 so
 * large positions keep their precision.
 */

export interface Rope {
  readonly headDim: number;
  /** Write cos/sin of every frequency for `position` into tables at `tableOffset` (d/2 entries each). */
  angles(position: number, cos: Float64Array, sin: Float64Array, tableOffset: number): void;
  /** Rotate `heads` consecutive heads of buf starting at `offset` with the given table entries. */
  rotate(buf: Float32Array, offset: number, heads: number, cos: Float64Array, sin: Float64Array, tableOffset: number): void;
}

/** RoPE for a head size (even) and base θ (`rope_theta`). */
export function createRope(headDim: number, theta: number): Rope {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) throw new RangeError(`headDim must be a positive even integer, got ${headDim}`);
  if (!(theta > 0)) throw new RangeError(`rope theta must be positive, got ${theta}`);
  const half = headDim / 2;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = theta ** (-(2 * i) / headDim);
  return {
    headDim,
    angles(position, cos, sin, tableOffset) {
      for (let i = 0; i < half; i++) {
        const a = position * invFreq[i]!;
        cos[tableOffset + i] = Math.cos(a);
        sin[tableOffset + i] = Math.sin(a);
      }
    },
    rotate(buf, offset, heads, cos, sin, tableOffset) {
      for (let h = 0; h < heads; h++) {
        const base = offset + h * headDim;
        for (let i = 0; i < half; i++) {
          const c = cos[tableOffset + i]!;
          const s = sin[tableOffset + i]!;
          const x1 = buf[base + i]!;
          const x2 = buf[base + i + half]!;
          buf[base + i] = x1 * c - x2 * s;
          buf[base + i + half] = x2 * c + x1 * s;
        }
      }
    },
  };
}
