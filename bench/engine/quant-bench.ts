/**
 * `bench:engine --quant=q8`: the stored-precision model against the same weights quantised at load,
 * in one process on one kernel: linear layers and output head in Q8_0 (what MOTIF_WEIGHTS_QUANT=q8
 * serves) and, to show what the head's Q8_0 copy buys, the linear layers alone.
 * Batch-1 decode runs interleaved step by step so load from other processes hits every variant
 * alike; the distance of the next-token distributions is measured over a fixed prompt set.
 */

import { quantizeWeights } from '../../origin/src/engine/native/checkpoint/quantize-weights.ts';
import type { MotifWeights } from '../../origin/src/engine/native/checkpoint/weights.ts';
import type { WeightMatrix } from '../../origin/src/engine/native/kernels/dtype.ts';
import type { MatmulKernel } from '../../origin/src/engine/native/kernels/matmul.ts';
import { quantizeQ8 } from '../../origin/src/engine/native/kernels/q8.ts';
import { type MotifConfig, MotifModel, type SequenceCache } from '../../origin/src/engine/native/model.ts';
import { type LogitDistance, logitDistance } from '../../origin/src/engine/native/sampling/logit-distance.ts';
import { cloneCache, gb, timeInterleaved, weightBytesPerToken } from './engine-bench.ts';

export interface QuantBenchOptions {
  config: MotifConfig;
  /** The stored-precision weights (shared with the reference model). */
  weights: MotifWeights;
  kernel: MatmulKernel;
  /** A cache of the reference model after the benchmark prompt: every variant decodes from a copy. */
  base: SequenceCache;
  capacity: number;
  steps: number;
  /** Prompts whose every position's logits are compared. */
  prompts: readonly (readonly number[])[];
}

/** `count` prompts of `length` ids spread over the vocabulary by a fixed linear congruence. */
export function fixedPrompts(vocab: number, count: number, length: number): number[][] {
  return Array.from({ length: count }, (_, p) => Array.from({ length }, (_, i) => (p * 7919 + i * 104_729 + 13) % vocab));
}

async function allLogits(model: MotifModel, prompts: QuantBenchOptions['prompts']): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const ids of prompts) {
    const cache = model.createCache(ids.length);
    out.push(...(await model.forwardDebug(cache, ids)).logits);
  }
  return out;
}

/** One line of the distance figures. */
export function formatDistance(d: LogitDistance): string {
  return `max |Δlogit| ${d.maxAbsLogit.toPrecision(3)}, mean KL ${d.meanKl.toExponential(2)} nats (max ${d.maxKl.toExponential(2)}), top-1 agreement ${(100 * d.top1Agreement).toFixed(1)}% of ${d.positions} positions`;
}

/** The weights the engine serves with `MOTIF_WEIGHTS_QUANT=q8` (layers and head), the layers-only variant, and how long each took. */
export function q8Weights(weights: MotifWeights, kernel: MatmulKernel) {
  const quantize = kernel.quantizeQ8?.bind(kernel) ?? quantizeQ8;
  // In the kernel's faster layout of the same blocks where it has one, as the engine serves them.
  const pack = kernel.packQ8?.bind(kernel) ?? ((w: WeightMatrix) => w);
  let t0 = performance.now();
  const layersOnly = quantizeWeights(weights, { quantize, pack, head: false });
  const layersMs = performance.now() - t0;
  t0 = performance.now();
  const served = { ...layersOnly, head: pack(quantize(weights.head)) };
  return { served, layersOnly, layersMs, headMs: performance.now() - t0 };
}

/** Runs the comparison; returns the report rows (label, value). */
export async function compareQuant(o: QuantBenchOptions): Promise<[string, string][]> {
  const rows: [string, string][] = [];
  const opts = { kernel: o.kernel, reuseLogits: true };
  const { served, layersOnly, layersMs, headMs } = q8Weights(o.weights, o.kernel);
  rows.push([
    `quant: Q8_0 at load (${o.kernel.quantizeQ8 ? o.kernel.name : 'JS'})`,
    `linear layers ${(layersMs / 1e3).toFixed(1)} s + the head's Q8_0 copy ${(headMs / 1e3).toFixed(1)} s`,
  ]);
  const variants = [
    { name: 'stored precision', weights: o.weights },
    { name: 'q8 (served: layers + head)', weights: served },
    { name: 'q8, linear layers only', weights: layersOnly },
  ].map((v) => {
    const model = MotifModel.fromWeights(o.config, v.weights, opts);
    return { ...v, model, cache: cloneCache(model, o.base, o.capacity) };
  });
  const timings = await timeInterleaved(variants, 2, o.steps);
  const ref = timings.get(variants[0]!.name)!.medianMs;
  for (const v of variants) {
    const t = timings.get(v.name)!;
    rows.push([
      `quant: decode batch 1, ${v.name}`,
      `${(1e3 / t.medianMs).toFixed(2)} tok/s (×${(ref / t.medianMs).toFixed(2)}), step ${t.medianMs.toFixed(0)} ms (median of ${t.samplesMs.length}), ${gb(weightBytesPerToken(v.weights))} of weights per step`,
    ]);
  }
  const refLogits = await allLogits(variants[0]!.model, o.prompts);
  for (const v of variants.slice(1)) {
    rows.push([`quant: distance, ${v.name} vs stored`, formatDistance(logitDistance(refLogits, await allLogits(v.model, o.prompts)))]);
  }
  return rows;
}
