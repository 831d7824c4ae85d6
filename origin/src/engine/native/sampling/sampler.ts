/**
 * Next-token selection for one sequence: logprobs of the raw distribution, then penalties,
 * then greedy or temperature / top-k / top-p / min-p sampling with the request's own PRNG.
 * Vocabularies are large (219,520 for Motif), so the hot path only touches the logits row and
 * fixed scratch buffers from a `SamplerWorkspace` shared by all sequences of an engine (sampling
 * runs one sequence at a time). The logits row is modified in place.
 */
import type { SamplingParams } from '../../types.ts';
import { argmax, logSumExp, selectTopK } from './logits-math.ts';
import type { Prng } from './prng.ts';

export { argmax, logSumExp, selectTopK } from './logits-math.ts';

/** Scratch buffers sized to the vocabulary, allocated once per engine. */
export interface SamplerWorkspace {
  readonly vocabSize: number;
  /** Candidate token ids. */
  readonly idx: Int32Array;
  /** Unnormalised probabilities exp((logit - max) / T), indexed by token id. */
  readonly wts: Float64Array;
  /** Probability-mass histogram for the top-p cut (linear time instead of sorting candidates). */
  readonly bucketMass: Float64Array;
  /** Bucket of each candidate (parallel to idx). */
  readonly bucketOf: Uint16Array;
  /** Candidates of the bucket where the top-p mass is crossed. */
  readonly crossing: Int32Array;
}

const BUCKETS = 4096;

/** Allocate scratch space for vocabularies up to `vocabSize`. */
export function createSamplerWorkspace(vocabSize: number): SamplerWorkspace {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new RangeError(`vocabSize must be a positive integer, got ${vocabSize}`);
  return {
    vocabSize,
    idx: new Int32Array(vocabSize),
    wts: new Float64Array(vocabSize),
    bucketMass: new Float64Array(BUCKETS),
    bucketOf: new Uint16Array(vocabSize),
    crossing: new Int32Array(vocabSize),
  };
}

export interface TopLogprob {
  id: number;
  logprob: number;
}

export interface SampleResult {
  id: number;
  /** log-softmax of the unmodified logits at `id` (only when logprobs were requested). */
  logprob?: number;
  top?: TopLogprob[];
}

export interface SamplerOptions {
  params: SamplingParams;
  random: Prng;
  /** Prompt ids: repetition penalty (HF semantics) covers prompt + generated tokens. */
  promptIds: readonly number[];
  /** Number of top logprobs per token; undefined = none. */
  topLogprobs?: number;
}

/** Per-sequence sampler state (penalty counts); call `sample` once per generated token. */
export class Sampler {
  private readonly p: SamplingParams;
  private readonly random: Prng;
  private readonly topLogprobs: number | undefined;
  // Generated-token counts (OpenAI presence/frequency penalties apply to generated tokens only).
  private readonly counts = new Map<number, number>();
  // Distinct ids of prompt + generated (repetition penalty); a Set keeps memory O(sequence).
  private readonly seen: Set<number>;
  // Raw values of the logits the penalties overwrote, for the chosen token's logprob.
  private readonly rawBefore = new Map<number, number>();

  constructor(opts: SamplerOptions) {
    this.p = opts.params;
    this.random = opts.random;
    this.topLogprobs = opts.topLogprobs;
    this.seen = new Set(this.p.repetitionPenalty !== 1 ? opts.promptIds : []);
  }

  /** Choose the next token from `logits` (modified in place) and record it for the penalties. */
  sample(logits: Float32Array, ws: SamplerWorkspace): SampleResult {
    const V = Math.min(logits.length, ws.vocabSize);
    const result: SampleResult = { id: 0 };
    if (this.topLogprobs !== undefined) {
      const lse = logSumExp(logits, V);
      result.top = topN(logits, V, this.topLogprobs, lse);
      this.applyPenalties(logits, V);
      result.id = this.choose(logits, V, ws);
      // Penalties changed the row: the chosen token's logprob needs the saved lse and raw value.
      result.logprob = this.rawLogit(logits, result.id) - lse;
    } else {
      this.applyPenalties(logits, V);
      result.id = this.choose(logits, V, ws);
    }
    this.record(result.id);
    return result;
  }

  private rawLogit(logits: Float32Array, id: number): number {
    return this.rawBefore.get(id) ?? logits[id]!;
  }

  private applyPenalties(logits: Float32Array, V: number): void {
    this.rawBefore.clear();
    const keep = this.topLogprobs !== undefined;
    const rp = this.p.repetitionPenalty;
    if (rp !== 1) {
      for (const id of this.seen) {
        if (id >= V) continue;
        const l = logits[id]!;
        if (keep) this.rawBefore.set(id, l);
        logits[id] = l > 0 ? l / rp : l * rp;
      }
    }
    const { presencePenalty: pp, frequencyPenalty: fp } = this.p;
    if (pp !== 0 || fp !== 0) {
      for (const [id, n] of this.counts) {
        if (id >= V) continue;
        if (keep && !this.rawBefore.has(id)) this.rawBefore.set(id, logits[id]!);
        logits[id] = logits[id]! - (fp * n + pp);
      }
    }
  }

  private record(id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    if (this.p.repetitionPenalty !== 1) this.seen.add(id);
  }

  private choose(logits: Float32Array, V: number, ws: SamplerWorkspace): number {
    const { temperature, topK, topP, minP } = this.p;
    if (temperature <= 0 || topK === 1) return argmax(logits, V);
    const invT = 1 / temperature;
    const max = logits[argmax(logits, V)]!;
    const { idx, wts } = ws;
    let n: number;
    let sorted = false;
    if (topK > 0 && topK < V) {
      n = selectTopK(logits, V, topK, idx);
      sorted = true;
      for (let i = 0; i < n; i++) wts[idx[i]!] = Math.exp((logits[idx[i]!]! - max) * invT);
    } else {
      let z = 0;
      for (let i = 0; i < V; i++) z += wts[i] = Math.exp((logits[i]! - max) * invT);
      // Exact nucleus without sorting the vocabulary: the tokens below (1-p)/V of the mass together
      // hold less than 1-p, so the nucleus lies entirely among the tokens at or above that bar.
      const bar = topP < 1 ? ((1 - topP) / V) * z : 0;
      n = 0;
      for (let i = 0; i < V; i++) if (wts[i]! >= bar) idx[n++] = i;
    }
    if (topP < 1) n = sorted ? nucleusSorted(idx, n, wts, topP) : nucleus(idx, n, wts, topP, logits, ws);
    if (minP > 0) {
      // Relative to the most likely token, whose weight is exp(0) = 1 and always survives.
      let m = 0;
      for (let i = 0; i < n; i++) if (wts[idx[i]!]! >= minP) idx[m++] = idx[i]!;
      n = Math.max(1, m);
    }
    let total = 0;
    for (let i = 0; i < n; i++) total += wts[idx[i]!]!;
    let u = this.random.next() * total;
    for (let i = 0; i < n; i++) {
      u -= wts[idx[i]!]!;
      if (u < 0) return idx[i]!;
    }
    return idx[n - 1]!; // rounding left a sliver of mass: the last candidate takes it
  }
}

/** Top-p over candidates already sorted best first: keep the shortest prefix reaching p of their mass. */
function nucleusSorted(idx: Int32Array, n: number, wts: Float64Array, topP: number): number {
  let z = 0;
  for (let i = 0; i < n; i++) z += wts[idx[i]!]!;
  let acc = 0;
  let keep = 0;
  while (keep < n) {
    acc += wts[idx[keep++]!]!;
    if (acc >= topP * z) break;
  }
  return Math.max(1, keep);
}

/**
 * Top-p over unsorted candidates in linear time: histogram the mass by weight (log scale), take
 * whole buckets from the top while they stay under p, and sort only the bucket that crosses p.
 * Same set as sorting every candidate, which costs tens of ms on a flat 219k-token distribution.
 */
function nucleus(idx: Int32Array, n: number, wts: Float64Array, topP: number, logits: Float32Array, ws: SamplerWorkspace): number {
  const { bucketMass, bucketOf } = ws;
  bucketMass.fill(0);
  // Bucket by logit (log-weight up to the factor 1/T, no Math.log needed): bucket 0 holds the
  // most likely tokens, the last bucket the least likely candidates.
  let z = 0;
  let hi = -Infinity;
  let lo = Infinity;
  for (let i = 0; i < n; i++) {
    const id = idx[i]!;
    z += wts[id]!;
    const l = logits[id]!;
    if (l > hi) hi = l;
    if (l < lo) lo = l;
  }
  const scale = hi > lo ? (BUCKETS - 1) / (hi - lo) : 0;
  for (let i = 0; i < n; i++) {
    const id = idx[i]!;
    const b = Math.min(BUCKETS - 1, Math.floor((hi - logits[id]!) * scale));
    bucketOf[i] = b;
    bucketMass[b]! += wts[id]!;
  }
  const target = topP * z;
  let acc = 0;
  let cross = 0;
  while (cross < BUCKETS - 1 && acc + bucketMass[cross]! < target) acc += bucketMass[cross++]!;
  // Whole buckets above `cross` stay (compacted to the front of idx: writes never pass reads);
  // the crossing bucket is set aside, sorted best first and taken until p is reached.
  const { crossing } = ws;
  let m = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const b = bucketOf[i]!;
    if (b < cross) idx[m++] = idx[i]!;
    else if (b === cross) crossing[c++] = idx[i]!;
  }
  crossing.subarray(0, c).sort((a, b) => logits[b]! - logits[a]! || a - b);
  for (let j = 0; j < c && (acc < target || m === 0); j++) {
    acc += wts[crossing[j]!]!;
    idx[m++] = crossing[j]!;
  }
  return m;
}

function topN(logits: Float32Array, V: number, k: number, lse: number): TopLogprob[] {
  if (k <= 0) return [];
  const buf = new Int32Array(Math.min(k, V)); // k ≤ 20: a tiny buffer per token is fine
  const n = selectTopK(logits, V, k, buf);
  const out: TopLogprob[] = [];
  // A masked token (structured output) is impossible, not a candidate: it is not listed.
  for (let i = 0; i < n; i++) if (logits[buf[i]!] !== -Infinity) out.push({ id: buf[i]!, logprob: logits[buf[i]!]! - lse });
  return out;
}
