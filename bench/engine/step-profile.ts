/**
 * Where a batch-1 decode step spends the time that is not matmul: each JavaScript piece of the
 * forward pass run on the real shapes (and, for attention, the real KV cache of the benchmark's
 * prefilled sequence) as often as one step runs it, plus sampling over the full vocabulary.
 * Numbers are per decode step; compare them with the step's matmul time.
 */

import { median } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';
import { KvCache } from '../../origin/src/engine/native/batching/kv-cache.ts';
import type { MotifConfig } from '../../origin/src/engine/native/checkpoint/config.ts';
import { AttentionScratch, attendSegment } from '../../origin/src/engine/native/forward/attention.ts';
import { lambdaInit } from '../../origin/src/engine/native/forward/lambda.ts';
import { polyNormGateFused, rmsNormRows } from '../../origin/src/engine/native/forward/norms.ts';
import { createRope } from '../../origin/src/engine/native/forward/rope.ts';
import type { MatmulKernel } from '../../origin/src/engine/native/kernels/matmul.ts';
import type { SequenceCache } from '../../origin/src/engine/native/model.ts';
import { createPrng } from '../../origin/src/engine/native/sampling/prng.ts';
import { argmax, createSamplerWorkspace, Sampler } from '../../origin/src/engine/native/sampling/sampler.ts';
import { DEFAULT_SAMPLING } from '../../origin/src/engine/types.ts';

export interface StepProfile {
  /** Milliseconds per decode step, by piece. */
  [piece: string]: number;
}

function timeIt(runs: number, fn: () => void): number {
  fn(); // warm-up (JIT, caches)
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/**
 * Profile the JS pieces of one batch-1 decode step of `config` against `cache` (a prefilled
 * sequence of the same model) and the sampler on `logits` (one full vocabulary row).
 */
export function profileStep(config: MotifConfig, cache: SequenceCache, logits: Float32Array, runs = 5, attend?: MatmulKernel['attend']): StepProfile {
  if (!(cache instanceof KvCache)) throw new TypeError('profileStep needs a MotifModel cache');
  const L = config.num_hidden_layers;
  const D = config.hidden_size;
  const A = config.num_attention_heads * config.head_dim;
  const I = config.intermediate_size;
  const ones = (n: number) => new Float32Array(n).fill(1);
  const x = Float32Array.from({ length: D }, (_, i) => Math.sin(i));
  const u = new Float32Array(D);
  const qkv = Float32Array.from({ length: 3 * A }, (_, i) => Math.cos(i) * 0.1);
  const z = new Float32Array(A);
  const gateUp = Float32Array.from({ length: 2 * I }, (_, i) => Math.sin(i * 0.37));
  const act = new Float32Array(I);
  const rope = createRope(config.head_dim, config.rope_theta);
  const cos = new Float64Array(config.head_dim / 2);
  const sin = new Float64Array(config.head_dim / 2);
  const scratch = new AttentionScratch();
  const pos = cache.length - 1;
  const params = {
    heads: config.num_attention_heads,
    headDim: config.head_dim,
    lambda: 0.2,
    lambdaInit: lambdaInit(3),
    subln: ones(2 * config.head_dim),
    eps: config.attn_rms_norm_eps,
  };
  const gainD = ones(D);
  const poly = Float32Array.of(0.3, 0.3, 0.4);

  const out: StepProfile = {};
  out[`attention, JavaScript (context ${cache.length}, ${L} layers)`] = timeIt(runs, () => {
    for (let l = 0; l < L; l++) attendSegment(z, qkv, 3 * A, 0, 1, pos, cache.layer(l), cache.shift, params, scratch);
  });
  if (attend) {
    // What the engine runs when the kernel has it (forward/layer.ts).
    out[`attention, native kernel (context ${cache.length}, ${L} layers)`] = timeIt(runs, () => {
      for (let l = 0; l < L; l++) {
        const kv = cache.layer(l);
        attend({ z, q: qkv, qStride: 3 * A, qRow: 0, count: 1, startPos: pos, k: kv.k, v: kv.v, shift: cache.shift, ...params });
      }
    });
  }
  out['RMSNorm ×2 per layer + final'] = timeIt(runs, () => {
    for (let l = 0; l < 2 * L + 1; l++) rmsNormRows(u, x, 1, D, gainD, config.rms_norm_eps);
  });
  out['RoPE (angles + q, k rotation)'] = timeIt(runs, () => {
    for (let l = 0; l < L; l++) {
      if (l === 0) rope.angles(pos, cos, sin, 0);
      rope.rotate(qkv, 0, config.num_attention_heads, cos, sin, 0);
      rope.rotate(qkv, A, config.num_attention_heads, cos, sin, 0);
    }
  });
  out['PolyNorm gate ⊙ up'] = timeIt(runs, () => {
    for (let l = 0; l < L; l++) polyNormGateFused(act, gateUp, 1, I, poly, 0.01, 1e-6);
  });
  out['residual adds'] = timeIt(runs, () => {
    for (let l = 0; l < 2 * L; l++) for (let i = 0; i < D; i++) x[i] = x[i]! + u[i]! * 1e-9;
  });
  const row = new Float32Array(logits.length);
  const ws = createSamplerWorkspace(logits.length);
  out['sampling: greedy (argmax)'] = timeIt(runs, () => void argmax(logits));
  out['sampling: T=0.8, top_p=0.95'] = timeIt(runs, () => {
    row.set(logits);
    new Sampler({ params: { ...DEFAULT_SAMPLING, temperature: 0.8, topP: 0.95 }, random: createPrng(1), promptIds: [] }).sample(row, ws);
  });
  out['sampling: T=0.8, top_k=50'] = timeIt(runs, () => {
    row.set(logits);
    new Sampler({ params: { ...DEFAULT_SAMPLING, temperature: 0.8, topK: 50 }, random: createPrng(1), promptIds: [] }).sample(row, ws);
  });
  return out;
}
