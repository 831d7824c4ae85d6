/**
 * Differential attention of one layer for one sequence segment (SPEC §2.5 steps 3–7).
 *
 * Differential head h pairs physical heads 2h (signal) and 2h+1 (noise) of Q, K and V. Its output
 * is Σ_τ (A1[τ] − λ·A2[τ]) · [v_{2h}[τ] ‖ v_{2h+1}[τ]], normalised by RMSNorm over the 2·head_dim
 * channels (`subln`, shared by all heads) and scaled by (1 − λ_init), written to the slots of
 * physical heads 2h and 2h+1. Scores use 1/√head_dim. Keys/values come from the block cache, which
 * already holds this segment's own rows, so a query at position p attends to positions 0…p.
 */
import type { LayerKv } from '../kv-cache.ts';

export interface AttentionParams {
  /** Physical heads (Q, K and V each have this many). */
  readonly heads: number;
  readonly headDim: number;
  readonly lambda: number;
  readonly lambdaInit: number;
  /** RMSNorm gain over 2·headDim channels. */
  readonly subln: Float32Array;
  readonly eps: number;
}

/** Reusable per-model buffers; `scores` grow with the longest context seen. */
export class AttentionScratch {
  s1 = new Float64Array(0);
  s2 = new Float64Array(0);
  acc = new Float64Array(0);

  ensure(positions: number, headDim: number): void {
    if (this.s1.length < positions) {
      const n = Math.max(positions, this.s1.length * 2, 64);
      this.s1 = new Float64Array(n);
      this.s2 = new Float64Array(n);
    }
    if (this.acc.length < 2 * headDim) this.acc = new Float64Array(2 * headDim);
  }
}

/**
 * For `count` query rows of `q` starting at row `qRow` (positions startPos…), write the attention
 * output rows into `z` at the same row indices. Row width of q and z is heads·headDim.
 */
export function attendSegment(
  z: Float32Array,
  q: Float32Array,
  qRow: number,
  count: number,
  startPos: number,
  kv: LayerKv,
  shift: number,
  p: AttentionParams,
  scratch: AttentionScratch,
): void {
  const d = p.headDim;
  const width = p.heads * d;
  const mask = (1 << shift) - 1;
  const scale = 1 / Math.sqrt(d);
  scratch.ensure(startPos + count, d);
  const { s1, s2, acc } = scratch;
  const outScale = 1 - p.lambdaInit;
  for (let t = 0; t < count; t++) {
    const pos = startPos + t;
    const qOff = (qRow + t) * width;
    for (let h = 0; h < p.heads / 2; h++) {
      const qa = qOff + 2 * h * d; // signal query head
      const qb = qa + d; // noise query head
      const ha = 2 * h * d; // channel offset of the pair inside a cached row
      let m1 = -Infinity;
      let m2 = -Infinity;
      for (let tau = 0; tau <= pos; tau++) {
        const kb = kv.k[tau >> shift]!;
        const ko = (tau & mask) * width + ha;
        let a = 0;
        let b = 0;
        for (let i = 0; i < d; i++) {
          a += q[qa + i]! * kb[ko + i]!;
          b += q[qb + i]! * kb[ko + d + i]!;
        }
        a *= scale;
        b *= scale;
        s1[tau] = a;
        s2[tau] = b;
        if (a > m1) m1 = a;
        if (b > m2) m2 = b;
      }
      let sum1 = 0;
      let sum2 = 0;
      for (let tau = 0; tau <= pos; tau++) {
        const e1 = Math.exp(s1[tau]! - m1);
        const e2 = Math.exp(s2[tau]! - m2);
        s1[tau] = e1;
        s2[tau] = e2;
        sum1 += e1;
        sum2 += e2;
      }
      const c1 = 1 / sum1;
      const c2 = p.lambda / sum2;
      acc.fill(0, 0, 2 * d);
      for (let tau = 0; tau <= pos; tau++) {
        // (A1 − λ·A2)[τ] applied to the 2·d-wide value [v_{2h} ‖ v_{2h+1}] in one pass.
        const c = s1[tau]! * c1 - s2[tau]! * c2;
        const vb = kv.v[tau >> shift]!;
        const vo = (tau & mask) * width + ha;
        for (let i = 0; i < 2 * d; i++) acc[i] = acc[i]! + c * vb[vo + i]!;
      }
      let ss = 0;
      for (let i = 0; i < 2 * d; i++) ss += acc[i]! * acc[i]!;
      const inv = outScale / Math.sqrt(ss / (2 * d) + p.eps);
      const zo = qOff + ha;
      for (let i = 0; i < 2 * d; i++) z[zo + i] = acc[i]! * inv * p.subln[i]!;
    }
  }
}
