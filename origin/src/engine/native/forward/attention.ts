/**
 * Differential attention of one layer for one sequence segment (SPEC §2.5 steps 3–7).
 *
 * Differential head h pairs physical heads 2h (signal) and 2h+1 (noise) of Q, K and V. Its output
 * is Σ_τ (A1[τ] − λ·A2[τ]) · [v_{2h}[τ] ‖ v_{2h+1}[τ]], normalised by RMSNorm over the 2·head_dim
 * channels (`subln`, shared by all heads) and scaled by (1 − λ_init), written to the slots of
 * physical heads 2h and 2h+1. Scores use 1/√head_dim. Keys/values come from the block cache, which
 * already holds this segment's own rows, so a query at position p attends to positions 0…p.
 *
 * This is the hottest JavaScript of decode once the matmuls are native (4·heads·head_dim
 * multiply-adds per cached position per layer), so the loops are written for V8: blocks are
 * looked up once per block rather than per position, dot products run 4-wide with independent
 * accumulators, and values are accumulated four positions at a time (a quarter of the
 * loads/stores of the accumulator row).
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

/** Reusable per-model buffers; the score rows grow with the longest context seen. */
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
 * For `count` query rows starting at row `qRow` of `q` (row stride `qStride`, query heads at the
 * start of each row; positions startPos…), write the attention output rows into `z` (row width
 * heads·headDim) at the same row indices.
 */
export function attendSegment(
  z: Float32Array,
  q: Float32Array,
  qStride: number,
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
  scratch.ensure(startPos + count, d);
  for (let t = 0; t < count; t++) {
    const pos = startPos + t;
    for (let h = 0; h < p.heads >> 1; h++) {
      const ha = 2 * h * d; // channel offset of the pair inside a cached row
      scores(q, (qRow + t) * qStride + ha, kv.k, ha, pos + 1, shift, width, d, scratch);
      const { s1, s2 } = scratch;
      // Softmax of both maps; A1 − λ·A2 folded into one weight per position.
      let m1 = -Infinity;
      let m2 = -Infinity;
      for (let tau = 0; tau <= pos; tau++) {
        if (s1[tau]! > m1) m1 = s1[tau]!;
        if (s2[tau]! > m2) m2 = s2[tau]!;
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
      for (let tau = 0; tau <= pos; tau++) s1[tau] = s1[tau]! * c1 - s2[tau]! * c2;
      values(scratch.acc, s1, kv.v, ha, pos + 1, shift, width, 2 * d);
      const acc = scratch.acc;
      let ss = 0;
      for (let i = 0; i < 2 * d; i++) ss += acc[i]! * acc[i]!;
      const inv = (1 - p.lambdaInit) / Math.sqrt(ss / (2 * d) + p.eps);
      const zo = (qRow + t) * width + ha;
      for (let i = 0; i < 2 * d; i++) z[zo + i] = acc[i]! * inv * p.subln[i]!;
    }
  }
}

// s1[τ] = q_a·k_{2h}[τ] / √d and s2[τ] = q_b·k_{2h+1}[τ] / √d for τ < n, with q_a at `qa` and
// q_b right after it (the two query heads of the pair are adjacent).
function scores(
  q: Float32Array, qa: number, blocks: readonly Float32Array[], ha: number, n: number,
  shift: number, width: number, d: number, s: AttentionScratch,
): void {
  const { s1, s2 } = s;
  const scale = 1 / Math.sqrt(d);
  const qb = qa + d;
  const d4 = d & ~3;
  const per = 1 << shift;
  for (let t0 = 0; t0 < n; t0 += per) {
    const kb = blocks[t0 >> shift]!;
    const end = Math.min(n, t0 + per);
    for (let tau = t0, ko = ha; tau < end; tau++, ko += width) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      let i = 0;
      for (; i < d4; i += 4) {
        a0 += q[qa + i]! * kb[ko + i]!;
        a1 += q[qa + i + 1]! * kb[ko + i + 1]!;
        a2 += q[qa + i + 2]! * kb[ko + i + 2]!;
        a3 += q[qa + i + 3]! * kb[ko + i + 3]!;
        b0 += q[qb + i]! * kb[ko + d + i]!;
        b1 += q[qb + i + 1]! * kb[ko + d + i + 1]!;
        b2 += q[qb + i + 2]! * kb[ko + d + i + 2]!;
        b3 += q[qb + i + 3]! * kb[ko + d + i + 3]!;
      }
      for (; i < d; i++) {
        a0 += q[qa + i]! * kb[ko + i]!;
        b0 += q[qb + i]! * kb[ko + d + i]!;
      }
      s1[tau] = (a0 + a1 + (a2 + a3)) * scale;
      s2[tau] = (b0 + b1 + (b2 + b3)) * scale;
    }
  }
}

// acc[0..w) = Σ_{τ<n} c[τ] · V[τ, ha .. ha+w), four positions per pass over acc. Positions of a
// pass never straddle a block: blocks hold a power of two ≥ 4 positions, or the pass runs one by one.
function values(
  acc: Float64Array, c: Float64Array, blocks: readonly Float32Array[], ha: number, n: number,
  shift: number, width: number, w: number,
): void {
  acc.fill(0, 0, w);
  const per = 1 << shift;
  for (let t0 = 0; t0 < n; t0 += per) {
    const vb = blocks[t0 >> shift]!;
    const end = Math.min(n, t0 + per);
    let tau = t0;
    let vo = ha;
    if (per >= 4) {
      for (; tau + 4 <= end; tau += 4, vo += 4 * width) {
        const c0 = c[tau]!, c1 = c[tau + 1]!, c2 = c[tau + 2]!, c3 = c[tau + 3]!;
        const o1 = vo + width, o2 = vo + 2 * width, o3 = vo + 3 * width;
        for (let i = 0; i < w; i++) {
          acc[i] = acc[i]! + (c0 * vb[vo + i]! + c1 * vb[o1 + i]!) + (c2 * vb[o2 + i]! + c3 * vb[o3 + i]!);
        }
      }
    }
    for (; tau < end; tau++, vo += width) {
      const c0 = c[tau]!;
      for (let i = 0; i < w; i++) acc[i] = acc[i]! + c0 * vb[vo + i]!;
    }
  }
}
