/**
 * Row-wise normalisations of the Motif forward pass (SPEC §2.4, §2.6). Sums run in doubles (JS
 * arithmetic), results are stored as f32 — at least the fp32 the reference computes these in.
 */
import type { RowNorms } from '../kernels/row-norms.ts';

/**
 * RMSNorm over `rows` rows of `width` channels: dst[r] = g ⊙ src[r] / √(mean(src[r]²) + eps).
 * `dst` may alias `src`. Offsets let callers normalise sub-blocks (e.g. one head's 2·head_dim).
 */
export function rmsNormRows(dst: Float32Array, src: Float32Array, rows: number, width: number, gain: Float32Array, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const off = r * width;
    let ss = 0;
    for (let i = 0; i < width; i++) {
      const v = src[off + i]!;
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss / width + eps);
    for (let i = 0; i < width; i++) dst[off + i] = src[off + i]! * inv * gain[i]!;
  }
}

/**
 * PolyNorm in place over each row of `z` (`width` channels), then multiplied by `up`:
 * z ← (w₀·N(z³) + w₁·N(z²) + w₂·N(z) + b) ⊙ up, with N(u) = u / √(mean(u²) + eps).
 * w₀ pairs with the cube and w₂ with the identity (SPEC §2.6); mean(z⁶) needs more range than
 * f16, which is why this runs on f32 storage with double sums. Pass `up = null` for PolyNorm alone.
 */
export function polyNormGateRows(z: Float32Array, up: Float32Array | null, rows: number, width: number, weight: Float32Array, bias: number, eps: number): void {
  for (let r = 0; r < rows; r++) polyNormRow(z, r * width, z, r * width, up, r * width, width, weight, bias, eps);
}

/**
 * The same over the output of the fused gate/up projection: row r of `gateUp` is
 * [gate (width) ‖ up (width)]; the gated rows go densely into `dst` [rows × width] (the input of
 * down_proj).
 */
export function polyNormGateFused(dst: Float32Array, gateUp: Float32Array, rows: number, width: number, weight: Float32Array, bias: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const g = 2 * r * width;
    polyNormRow(dst, r * width, gateUp, g, gateUp, g + width, width, weight, bias, eps);
  }
}

function polyNormRow(
  dst: Float32Array,
  dOff: number,
  z: Float32Array,
  off: number,
  up: Float32Array | null,
  uOff: number,
  width: number,
  weight: Float32Array,
  bias: number,
  eps: number,
): void {
  let s2 = 0;
  let s4 = 0;
  let s6 = 0;
  for (let i = 0; i < width; i++) {
    const v = z[off + i]!;
    const v2 = v * v;
    s2 += v2;
    s4 += v2 * v2;
    s6 += v2 * v2 * v2;
  }
  const c1 = weight[2]! / Math.sqrt(s2 / width + eps);
  const c2 = weight[1]! / Math.sqrt(s4 / width + eps);
  const c3 = weight[0]! / Math.sqrt(s6 / width + eps);
  for (let i = 0; i < width; i++) {
    const v = z[off + i]!;
    // Horner form of c3·v³ + c2·v² + c1·v + bias.
    const p = ((c3 * v + c2) * v + c1) * v + bias;
    dst[dOff + i] = up === null ? p : p * up[uOff + i]!;
  }
}

/** The JavaScript row norms as the forward pass's RowNorms (the reference, and the portable path). */
export const JS_NORMS: RowNorms = { rmsNormRows, polyNormGateFused };
