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
 * looked up once per block rather than per position, scores take two key rows per pass and
 * values eight (measured ~1.5× and ~1.25× over one row per pass with 4-wide accumulators).
 */
import type { LayerKv } from '../batching/kv-cache.ts';
import type { AttentionParams } from '../kernels/attention-call.ts';

export type { AttentionParams };

/** Reusable per-model buffers; the score rows grow with the longest context seen. */
export class AttentionScratch {
  s1 = new Float64Array(0);
  s2 = new Float64Array(0);
  acc = new Float64Array(0);
  /** The query pair being scored, widened once. */
  qd = new Float64Array(0);

  ensure(positions: number, headDim: number): void {
    if (this.s1.length < positions) {
      const n = Math.max(positions, this.s1.length * 2, 64);
      this.s1 = new Float64Array(n);
      this.s2 = new Float64Array(n);
    }
    if (this.acc.length < 2 * headDim) {
      this.acc = new Float64Array(2 * headDim);
      this.qd = new Float64Array(2 * headDim);
    }
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
// q_b right after it (the two query heads of the pair are adjacent). Two positions per pass:
// each query element is loaded once (from a float64 copy, no conversion) for two key rows.
function scores(
  q: Float32Array,
  qa: number,
  blocks: readonly Float32Array[],
  ha: number,
  n: number,
  shift: number,
  width: number,
  d: number,
  s: AttentionScratch,
): void {
  const { s1, s2, qd } = s;
  const scale = 1 / Math.sqrt(d);
  for (let i = 0; i < 2 * d; i++) qd[i] = q[qa + i]!;
  const per = 1 << shift;
  for (let t0 = 0; t0 < n; t0 += per) {
    const kb = blocks[t0 >> shift]!;
    const end = Math.min(n, t0 + per);
    let tau = t0;
    let ko = ha;
    for (; tau + 2 <= end; tau += 2, ko += 2 * width) {
      const k2 = ko + width;
      let a0 = 0,
        a1 = 0,
        b0 = 0,
        b1 = 0,
        c0 = 0,
        c1 = 0,
        e0 = 0,
        e1 = 0;
      let i = 0;
      for (; i + 2 <= d; i += 2) {
        const x0 = qd[i]!,
          x1 = qd[i + 1]!,
          y0 = qd[d + i]!,
          y1 = qd[d + i + 1]!;
        a0 += x0 * kb[ko + i]!;
        a1 += x1 * kb[ko + i + 1]!;
        b0 += y0 * kb[ko + d + i]!;
        b1 += y1 * kb[ko + d + i + 1]!;
        c0 += x0 * kb[k2 + i]!;
        c1 += x1 * kb[k2 + i + 1]!;
        e0 += y0 * kb[k2 + d + i]!;
        e1 += y1 * kb[k2 + d + i + 1]!;
      }
      if (i < d) {
        a0 += qd[i]! * kb[ko + i]!;
        b0 += qd[d + i]! * kb[ko + d + i]!;
        c0 += qd[i]! * kb[k2 + i]!;
        e0 += qd[d + i]! * kb[k2 + d + i]!;
      }
      s1[tau] = (a0 + a1) * scale;
      s2[tau] = (b0 + b1) * scale;
      s1[tau + 1] = (c0 + c1) * scale;
      s2[tau + 1] = (e0 + e1) * scale;
    }
    for (; tau < end; tau++, ko += width) {
      let a = 0;
      let b = 0;
      for (let i = 0; i < d; i++) {
        a += qd[i]! * kb[ko + i]!;
        b += qd[d + i]! * kb[ko + d + i]!;
      }
      s1[tau] = a * scale;
      s2[tau] = b * scale;
    }
  }
}

// acc[0..w) = Σ_{τ<n} c[τ] · V[τ, ha .. ha+w), eight positions per pass over acc (an eighth of
// the accumulator loads/stores). Blocks of fewer than 8 positions run one position per pass.
function values(acc: Float64Array, c: Float64Array, blocks: readonly Float32Array[], ha: number, n: number, shift: number, width: number, w: number): void {
  acc.fill(0, 0, w);
  const per = 1 << shift;
  for (let t0 = 0; t0 < n; t0 += per) {
    const vb = blocks[t0 >> shift]!;
    const end = Math.min(n, t0 + per);
    let tau = t0;
    let vo = ha;
    for (; tau + 8 <= end; tau += 8, vo += 8 * width) {
      const c0 = c[tau]!,
        c1 = c[tau + 1]!,
        c2 = c[tau + 2]!,
        c3 = c[tau + 3]!;
      const c4 = c[tau + 4]!,
        c5 = c[tau + 5]!,
        c6 = c[tau + 6]!,
        c7 = c[tau + 7]!;
      const o1 = vo + width,
        o2 = o1 + width,
        o3 = o2 + width,
        o4 = o3 + width,
        o5 = o4 + width,
        o6 = o5 + width,
        o7 = o6 + width;
      for (let i = 0; i < w; i++) {
        acc[i] =
          acc[i]! +
          (c0 * vb[vo + i]! + c1 * vb[o1 + i]! + (c2 * vb[o2 + i]! + c3 * vb[o3 + i]!)) +
          (c4 * vb[o4 + i]! + c5 * vb[o5 + i]! + (c6 * vb[o6 + i]! + c7 * vb[o7 + i]!));
      }
    }
    for (; tau < end; tau++, vo += width) {
      const c0 = c[tau]!;
      for (let i = 0; i < w; i++) acc[i] = acc[i]! + c0 * vb[vo + i]!;
    }
  }
}
