/**
 * One Motif decoder layer over a chunk of stacked rows from one or more sequences (SPEC §2.3):
 *   h = x + Attn(RMSNorm(x)),  x' = h + MLP(RMSNorm(h)).
 * Every weight matrix is multiplied once for all rows of the chunk; only attention runs per
 * sequence segment, against that sequence's own cache.
 */
import type { MotifConfig } from '../config.ts';
import type { KvCache } from '../kv-cache.ts';
import type { MatmulKernel } from '../kernels/matmul.ts';
import type { LayerWeights } from '../weights.ts';
import type { AttentionParams, AttentionScratch } from './attention.ts';
import { attendSegment } from './attention.ts';
import { polyNormGateRows, rmsNormRows } from './norms.ts';
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
  readonly kernel: MatmulKernel;
  readonly rope: Rope;
  readonly attention: AttentionScratch;
}

/** PolyNorm's own eps: a class default in the reference, not a config field (SPEC §2.6). */
export const POLY_NORM_EPS = 1e-6;

function addInto(dst: Float32Array, src: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] = dst[i]! + src[i]!;
}

/**
 * Run layer `index` in place on s.x[0 … rows). RoPE tables (s.cos/s.sin) must hold each row's
 * angles, and each segment's cache must have room for its rows (KvCache.reserve).
 */
export function runLayer(
  ctx: LayerContext,
  index: number,
  w: LayerWeights,
  attn: AttentionParams,
  s: ForwardScratch,
  rows: number,
  segments: readonly Segment[],
): void {
  const c = ctx.config;
  const D = c.hidden_size;
  const H = c.num_attention_heads;
  const width = H * c.head_dim;
  const half = c.head_dim / 2;
  const { kernel, rope } = ctx;

  rmsNormRows(s.u, s.x, rows, D, w.inputNorm, c.rms_norm_eps);
  kernel.matmul(s.q, s.u, rows, w.q);
  kernel.matmul(s.k, s.u, rows, w.k);
  kernel.matmul(s.v, s.u, rows, w.v);
  for (let r = 0; r < rows; r++) {
    rope.rotate(s.q, r * width, H, s.cos, s.sin, r * half);
    rope.rotate(s.k, r * width, H, s.cos, s.sin, r * half);
  }
  for (const seg of segments) {
    for (let i = 0; i < seg.count; i++) {
      const r = seg.row + i;
      seg.cache.write(index, seg.position + i, s.k, r * width, s.v, r * width);
    }
    attendSegment(s.z, s.q, seg.row, seg.count, seg.position, seg.cache.layer(index), seg.cache.shift, attn, ctx.attention);
  }
  kernel.matmul(s.out, s.z, rows, w.o);
  addInto(s.x, s.out, rows * D);

  rmsNormRows(s.u, s.x, rows, D, w.postNorm, c.rms_norm_eps);
  kernel.matmul(s.gate, s.u, rows, w.gate);
  kernel.matmul(s.up, s.u, rows, w.up);
  polyNormGateRows(s.gate, s.up, rows, c.intermediate_size, w.polyWeight, w.polyBias, POLY_NORM_EPS);
  kernel.matmul(s.out, s.gate, rows, w.down);
  addInto(s.x, s.out, rows * D);
}
