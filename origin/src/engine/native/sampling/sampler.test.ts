import { describe, expect, it } from 'vitest';
import { DEFAULT_SAMPLING, type SamplingParams } from '../../types.ts';
import { createPrng } from './prng.ts';
import { createSamplerWorkspace, logSumExp, Sampler, selectTopK } from './sampler.ts';

const params = (p: Partial<SamplingParams>): SamplingParams => ({ ...DEFAULT_SAMPLING, ...p });

/** A fixed pseudo-random logits row (its own PRNG so tests do not depend on each other). */
function row(n: number, seed = 1, scale = 4): Float32Array {
  const r = createPrng(seed);
  return Float32Array.from({ length: n }, () => (r.next() - 0.5) * 2 * scale);
}

/** Sample `n` tokens from fresh copies of `logits` with one sampler. */
function draws(logits: Float32Array, p: Partial<SamplingParams>, n: number, seed = 9, promptIds: number[] = []): number[] {
  const ws = createSamplerWorkspace(logits.length);
  const s = new Sampler({ params: params({ seed, ...p }), random: createPrng(seed), promptIds });
  return Array.from({ length: n }, () => s.sample(logits.slice(), ws).id);
}

const logitsOf = (probs: number[]) => Float32Array.from(probs, (p) => Math.log(p));

describe('Sampler basics', () => {
  it('temperature 0 is greedy argmax (first index on ties)', () => {
    const l = row(1000);
    const best = l.indexOf(Math.max(...l));
    expect(new Set(draws(l, { temperature: 0 }, 5))).toEqual(new Set([best]));
    expect(draws(Float32Array.of(1, 3, 3), { temperature: 0 }, 1)).toEqual([1]);
  });

  it('same seed → same tokens; another seed → different tokens', () => {
    const l = row(5000, 3, 1);
    expect(draws(l, { temperature: 1 }, 30, 123)).toEqual(draws(l, { temperature: 1 }, 30, 123));
    expect(draws(l, { temperature: 1 }, 30, 123)).not.toEqual(draws(l, { temperature: 1 }, 30, 124));
  });

  it('samples in proportion to softmax(logits / T)', () => {
    const counts = [0, 0];
    for (const id of draws(logitsOf([0.25, 0.75]), { temperature: 1 }, 4000)) counts[id]!++;
    expect(counts[1]! / 4000).toBeCloseTo(0.75, 1);
    // T = 0.5 squares the odds: 1:9.
    const hot = draws(logitsOf([0.25, 0.75]), { temperature: 0.5 }, 4000).filter((id) => id === 1).length;
    expect(hot / 4000).toBeCloseTo(0.9, 1);
  });
});

describe('truncation', () => {
  it('top_k keeps only the k best', () => {
    const l = row(2000, 5);
    const top = [...l.keys()].sort((a, b) => l[b]! - l[a]!).slice(0, 3);
    const seen = new Set(draws(l, { temperature: 2, topK: 3 }, 300));
    expect(seen).toEqual(new Set(top));
  });

  it.each([
    { topP: 0.7, keep: [0, 1] },
    { topP: 0.8, keep: [0, 1] },
    { topP: 0.85, keep: [0, 1, 2] },
    { topP: 0.4, keep: [0] },
  ])('top_p $topP keeps the smallest set reaching p', ({ topP, keep }) => {
    const seen = new Set(draws(logitsOf([0.5, 0.3, 0.15, 0.05]), { topP }, 400));
    expect([...seen].sort()).toEqual(keep);
  });

  it('top_k then top_p renormalises within the k kept tokens', () => {
    const probs = logitsOf([0.5, 0.3, 0.15, 0.05]);
    expect([...new Set(draws(probs, { topK: 3, topP: 0.85 }, 400))].sort()).toEqual([0, 1, 2]);
    // Within the top 2, token 0 holds 0.625 < 0.7 of the mass, so both stay.
    expect([...new Set(draws(probs, { topK: 2, topP: 0.7 }, 400))].sort()).toEqual([0, 1]);
    expect([...new Set(draws(probs, { topK: 3, topP: 0.55 }, 400))].sort()).toEqual([0, 1]);
  });

  it('top_p on a large vocabulary equals the brute-force nucleus', () => {
    const l = row(20_000, 11, 6);
    const lse = logSumExp(l);
    const order = [...l.keys()].sort((a, b) => l[b]! - l[a]!);
    const nucleus = new Set<number>();
    let acc = 0;
    for (const id of order) {
      nucleus.add(id);
      acc += Math.exp(l[id]! - lse);
      if (acc >= 0.3) break;
    }
    const seen = draws(l, { topP: 0.3 }, 150);
    for (const id of seen) expect(nucleus.has(id)).toBe(true);
    expect(new Set(seen).size).toBeGreaterThan(1);
  });

  it('min_p drops tokens below min_p × the top probability', () => {
    const seen = new Set(draws(logitsOf([0.4, 0.3, 0.19, 0.11]), { minP: 0.5 }, 400));
    expect([...seen].sort()).toEqual([0, 1]);
  });

  it('selectTopK sorts best first with ties by lower id', () => {
    const out = new Int32Array(4);
    expect(selectTopK(Float32Array.of(1, 5, 5, 0, 3), 5, 3, out)).toBe(3);
    expect([...out.subarray(0, 3)]).toEqual([1, 2, 4]);
  });
});

describe('penalties', () => {
  it('frequency penalty grows with each repeat; presence penalty applies once', () => {
    // 0 wins until its count × 0.6 exceeds the 1.0 gap to token 1.
    expect(draws(Float32Array.of(2, 1, -5), { temperature: 0, frequencyPenalty: 0.6 }, 4)).toEqual([0, 0, 1, 0]);
    expect(draws(Float32Array.of(2, 1, -5), { temperature: 0, presencePenalty: 1.5 }, 4)).toEqual([0, 1, 0, 0]);
  });

  it('repetition penalty covers the prompt, divides positive and multiplies negative logits', () => {
    expect(draws(Float32Array.of(2, 1.5, -1), { temperature: 0, repetitionPenalty: 2 }, 1, 1, [0])).toEqual([1]);
    expect(draws(Float32Array.of(-1, -1.5), { temperature: 0, repetitionPenalty: 2 }, 1, 1, [0])).toEqual([1]);
    // Not applied to tokens outside prompt + output.
    expect(draws(Float32Array.of(2, 1.5, -1), { temperature: 0, repetitionPenalty: 2 }, 1, 1, [2])).toEqual([0]);
  });
});

describe('logprobs', () => {
  it('are the log-softmax of the unmodified logits, with the top N sorted', () => {
    const l = Float32Array.of(2, 1, 0.5, -1);
    const lse = logSumExp(l);
    const ws = createSamplerWorkspace(4);
    const s = new Sampler({ params: params({ temperature: 0, presencePenalty: 2 }), random: createPrng(1), promptIds: [], topLogprobs: 2 });
    const first = s.sample(l.slice(), ws);
    expect(first.id).toBe(0);
    expect(first.logprob).toBeCloseTo(2 - lse, 6);
    expect(first.top).toEqual([
      { id: 0, logprob: expect.closeTo(2 - lse, 6) },
      { id: 1, logprob: expect.closeTo(1 - lse, 6) },
    ]);
    // Presence penalty now pushes token 0 below token 1, but logprobs still report raw values.
    const second = s.sample(l.slice(), ws);
    expect(second.id).toBe(1);
    expect(second.logprob).toBeCloseTo(1 - lse, 6);
    expect(second.top?.[0]).toEqual({ id: 0, logprob: expect.closeTo(2 - lse, 6) });
  });
});
