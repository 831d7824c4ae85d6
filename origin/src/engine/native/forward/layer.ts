/**
 * One Motif decoder layer over a chunk of stacked rows from one or more sequences (SPEC §2.3):
 *   h = x + Attn(RMSNorm(x)),  x' = h + MLP(RMSNorm(h)).
 * Every weight matrix is multiplied once for all rows of the chunk (q/k/v and gate/up as one
 * fused matrix each); only attention runs per sequence segment, against that sequence's own
 * cache. Matmuls go through the pacer, which may run them off the JS thread.
 */

import type { KvCache } from '../batching/kv-cache.ts';
import type { MotifConfig } from '../checkpoint/config.ts';
import type { LayerWeights } from '../checkpoint/weights.ts';
import type { AttentionCall } from '../kernels/attention-call.ts';
import type { RowNorms } from '../kernels/row-norms.ts';
import type { AttentionParams, AttentionScratch } from './attention.ts';
import { attendSegment } from './attention.ts';
import type { Pacer } from './pacer.ts';
import type { Rope } from './rope.ts';
import type { ForwardScratch } from './scratch.ts';

/** A run of consecutive chunk rows that belong to one sequence. */
export interface Segment {
  readonly cache: KvCache;
  /** First row of the segment inside the chunk. */
  readonly row: number;
  readonly count: number;
  /** Absolute position of the first row. */
  readonly position: number;
}

export interface LayerContext {
  readonly config: MotifConfig;
  readonly pacer: Pacer;
  readonly rope: Rope;
  readonly attention: AttentionScratch;
  /** The kernel's native attention, when it has one; else attendSegment runs (JavaScript). */
  readonly attend?: (call: AttentionCall) => void;
  /** The row norms: the kernel's native ones when it has them, else JS_NORMS (norms.ts). */
  readonly norms: RowNorms;
}

/** PolyNorm's own eps: a class default in the reference, not a config field (SPEC §2.6). */
export const POLY_NORM_EPS = 1e-6;

// Query rows per attention call during prefill: the pacer may yield between groups.
const ATTENTION_ROWS = 16;

function addInto(dst: Float32Array, src: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] = dst[i]! + src[i]!;
}

/**
 * Run layer `index` in place on s.x[0 … rows). RoPE tables (s.cos/s.sin) must hold each row's
 * angles, and each segment's cache must have room for its rows (KvCache.reserve).
 */
export async function runLayer(
  ctx: LayerContext,
  index: number,
  w: LayerWeights,
  attn: AttentionParams,
  s: ForwardScratch,
  rows: number,
  segments: readonly Segment[],
): Promise<void> {
  const c = ctx.config;
  const D = c.hidden_size;
  const H = c.num_attention_heads;
  const A = H * c.head_dim;
  const half = c.head_dim / 2;
  const { pacer, rope } = ctx;

  const { norms } = ctx;
  norms.rmsNormRows(s.u, s.x, rows, D, w.inputNorm, c.rms_norm_eps);
  await pacer.matmul(s.qkv, s.u, rows, w.qkv);
  // Each row of s.qkv is q ‖ k ‖ v.
  for (let r = 0; r < rows; r++) {
    rope.rotate(s.qkv, 3 * r * A, H, s.cos, s.sin, r * half);
    rope.rotate(s.qkv, 3 * r * A + A, H, s.cos, s.sin, r * half);
  }
  for (const seg of segments) {
    for (let i = 0; i < seg.count; i++) {
      const at = 3 * (seg.row + i) * A;
      seg.cache.write(index, seg.position + i, s.qkv, at + A, s.qkv, at + 2 * A);
    }
    const kv = seg.cache.layer(index);
    for (let t = 0; t < seg.count; t += ATTENTION_ROWS) {
      const n = Math.min(ATTENTION_ROWS, seg.count - t);
      if (ctx.attend) {
        ctx.attend({
          z: s.z,
          q: s.qkv,
          qStride: 3 * A,
          qRow: seg.row + t,
          count: n,
          startPos: seg.position + t,
          k: kv.k,
          v: kv.v,
          shift: seg.cache.shift,
          ...attn,
        });
      } else {
        attendSegment(s.z, s.qkv, 3 * A, seg.row + t, n, seg.position + t, kv, seg.cache.shift, attn, ctx.attention);
      }
      await pacer.checkpoint();
    }
  }
  await pacer.matmul(s.out, s.z, rows, w.o);
  addInto(s.x, s.out, rows * D);

  norms.rmsNormRows(s.u, s.x, rows, D, w.postNorm, c.rms_norm_eps);
  await pacer.matmul(s.gateUp, s.u, rows, w.gateUp);
  norms.polyNormGateFused(s.act, s.gateUp, rows, c.intermediate_size, w.polyWeight, w.polyBias, POLY_NORM_EPS);
  await pacer.matmul(s.out, s.act, rows, w.down);
  addInto(s.x, s.out, rows * D);
}
