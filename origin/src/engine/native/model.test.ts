/**
 * Golden test of the forward pass against test/fixtures/tiny-motif (float64 reference outputs of a
 * random 3-layer Motif checkpoint): logits, per-layer hidden states, greedy continuations through
 * the KV cache, and the batching/chunking/caching invariants of MotifModel — on every kernel
 * (portable JS, and the native addon when built).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { loadMotifModelDir } from '../../adapters/node/engine/engine-loaders.ts';
import { testKernels } from '../../adapters/node/engine/test-kernels.ts';
import type { MatmulKernel } from './kernels/matmul.ts';
import { createJsKernel } from './kernels/matmul.ts';
import type { MotifModel, MotifModelOptions } from './model.ts';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/tiny-motif/', import.meta.url));
const TOL = 1e-4;

interface Case {
  name: string;
  input_ids: number[];
  last_logits: number[];
  top5_ids: number[];
  greedy_new_ids: number[];
  prefill_logits_all_positions?: number[][];
  greedy_step_logits?: number[][];
  hidden_states?: { values: number[][][] };
  final_norm_output?: number[][];
}
interface Expected {
  cases: Case[];
  derived: { lambda_full_per_layer: number[] };
  chat: { ids: number[]; last_logits_top5_ids: number[]; greedy_new_ids: number[] };
}
const expected = JSON.parse(readFileSync(`${FIXTURE}expected.json`, 'utf8')) as Expected;
const byName = (n: string): Case => expected.cases.find((c) => c.name === n)!;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}
function topK(x: Float32Array, k: number): number[] {
  return [...x.keys()].sort((a, b) => x[b]! - x[a]!).slice(0, k);
}

describe.each(testKernels())('on the $name kernel', ({ kernel }) => {
  const load = (opts: MotifModelOptions = {}) => loadMotifModelDir(FIXTURE, { kernel, ...opts });

  let model: MotifModel;
  beforeAll(async () => {
    model = await load();
  });

  async function greedy(m: MotifModel, ids: number[], steps: number): Promise<{ ids: number[]; logits: Float32Array[] }> {
    const cache = m.createCache(m.config.max_position_embeddings);
    let [logits] = await m.forward([{ cache, ids }]);
    const out: number[] = [];
    const stepLogits: Float32Array[] = [];
    for (let i = 0; i < steps; i++) {
      stepLogits.push(logits!);
      out.push(argmax(logits!));
      if (i === steps - 1) break;
      [logits] = await m.forward([{ cache, ids: [out[i]!] }]);
    }
    expect(cache.length).toBe(ids.length + steps - 1);
    return { ids: out, logits: stepLogits };
  }

  describe('MotifModel on the tiny-motif golden fixture', () => {
    it('reads the config and eos ids (generation_config first, then config)', () => {
      expect(model.config.head_dim).toBe(16);
      expect(model.eosTokenIds).toEqual([383, 381]);
      expect(model.kvBytesPerToken()).toBe(2 * 3 * 64 * 4);
    });

    it('computes λ per layer', () => {
      const got = model.lambdas();
      expected.derived.lambda_full_per_layer.forEach((l, i) => expect(got[i]).toBeCloseTo(l, 6));
    });

    it.each(expected.cases.map((c) => [c.name, c] as const))('last-position logits and top-5 of %s', async (_name, c) => {
      const [logits] = await model.forward([{ cache: model.createCache(128), ids: c.input_ids }]);
      expect(maxAbsDiff(logits!, c.last_logits)).toBeLessThan(TOL);
      expect(topK(logits!, 5)).toEqual(c.top5_ids);
    });

    it.each(expected.cases.map((c) => [c.name, c] as const))('12-token greedy continuation of %s through the KV cache', async (_name, c) => {
      const { ids } = await greedy(model, c.input_ids, c.greedy_new_ids.length);
      expect(ids).toEqual(c.greedy_new_ids);
    });

    it('matches every greedy step logit of len7', async () => {
      const c = byName('len7');
      const { logits } = await greedy(model, c.input_ids, c.greedy_new_ids.length);
      // Step i holds the logits greedy token i was taken from (step 0 = the prefill).
      expect(logits.length).toBe(c.greedy_step_logits!.length);
      logits.forEach((l, i) => expect(maxAbsDiff(l, c.greedy_step_logits![i]!)).toBeLessThan(TOL));
    });

    it('matches hidden states, final norm and logits of every len7 position', async () => {
      const c = byName('len7');
      const dbg = await model.forwardDebug(model.createCache(16), c.input_ids);
      const ref = c.hidden_states!.values;
      expect(dbg.hidden.length).toBe(ref.length);
      ref.forEach((layer, l) => layer.forEach((row, t) => expect(maxAbsDiff(dbg.hidden[l]![t]!, row)).toBeLessThan(TOL)));
      c.final_norm_output!.forEach((row, t) => expect(maxAbsDiff(dbg.finalNorm[t]!, row)).toBeLessThan(TOL));
      c.prefill_logits_all_positions!.forEach((row, t) => expect(maxAbsDiff(dbg.logits[t]!, row)).toBeLessThan(TOL));
    });

    it('continues the chat prompt like the reference', async () => {
      const { ids } = await greedy(model, expected.chat.ids, expected.chat.greedy_new_ids.length);
      expect(ids).toEqual(expected.chat.greedy_new_ids);
    });
  });

  describe('MotifModel invariants', () => {
    it.each([1, 5, 18, 39])('prefill(40) equals prefill(%i) + single steps', async (k) => {
      const c = byName('len40');
      const cache = model.createCache(64);
      let [logits] = await model.forward([{ cache, ids: c.input_ids.slice(0, k) }]);
      for (const id of c.input_ids.slice(k)) [logits] = await model.forward([{ cache, ids: [id] }]);
      expect(maxAbsDiff(logits!, c.last_logits)).toBeLessThan(TOL);
    });

    it('gives each of 4 batched prompts the logits it gets alone, also when decoding together', async () => {
      const caches = expected.cases.map(() => model.createCache(128));
      const out = await model.forward(expected.cases.map((c, i) => ({ cache: caches[i]!, ids: c.input_ids })));
      out.forEach((l, i) => expect(maxAbsDiff(l, expected.cases[i]!.last_logits)).toBeLessThan(TOL));
      const next = expected.cases.map((c) => c.greedy_new_ids[0]!);
      const step = await model.forward(caches.map((cache, i) => ({ cache, ids: [next[i]!] })));
      step.forEach((l, i) => expect(argmax(l)).toBe(expected.cases[i]!.greedy_new_ids[1]));
    });

    it('mixes a prefill and a decode step in one batch', async () => {
      const a = byName('len7');
      const b = byName('len19');
      const ca = model.createCache(32);
      await model.forward([{ cache: ca, ids: a.input_ids }]);
      const cb = model.createCache(32);
      const [la, lb] = await model.forward([
        { cache: ca, ids: [a.greedy_new_ids[0]!] },
        { cache: cb, ids: b.input_ids },
      ]);
      expect(maxAbsDiff(la!, a.greedy_step_logits![1]!)).toBeLessThan(TOL);
      expect(maxAbsDiff(lb!, b.last_logits)).toBeLessThan(TOL);
    });

    it.each([1, 3, 16])('gives the same logits when chunked into %i-row pieces', async (rows) => {
      const chunked = await load({ maxChunkRows: rows, kvBlockTokens: 4 });
      const caches = expected.cases.map(() => chunked.createCache(64));
      const out = await chunked.forward(expected.cases.map((c, i) => ({ cache: caches[i]!, ids: c.input_ids })));
      out.forEach((l, i) => expect(maxAbsDiff(l, expected.cases[i]!.last_logits)).toBeLessThan(TOL));
      caches.forEach((cache, i) => expect(cache.length).toBe(expected.cases[i]!.input_ids.length));
    });

    it('forwardDebug gives the same hidden states when chunked', async () => {
      const c = byName('len7');
      const chunked = await load({ maxChunkRows: 3, kvBlockTokens: 2 });
      const dbg = await chunked.forwardDebug(chunked.createCache(16), c.input_ids);
      c.hidden_states!.values.forEach((layer, l) => layer.forEach((row, t) => expect(maxAbsDiff(dbg.hidden[l]![t]!, row)).toBeLessThan(TOL)));
      c.prefill_logits_all_positions!.forEach((row, t) => expect(maxAbsDiff(dbg.logits[t]!, row)).toBeLessThan(TOL));
    });

    it('truncate rolls a cache back to a prefix', async () => {
      const c = byName('len19');
      const cache = model.createCache(64);
      await model.forward([{ cache, ids: [...c.input_ids.slice(0, 10), 1, 2, 3, 4, 5, 6, 7, 8] }]);
      cache.truncate(10);
      const [logits] = await model.forward([{ cache, ids: c.input_ids.slice(10) }]);
      expect(maxAbsDiff(logits!, c.last_logits)).toBeLessThan(TOL);
    });

    it('refuses to outgrow a cache and leaves it untouched', async () => {
      const cache = model.createCache(8);
      await model.forward([{ cache, ids: [1, 2, 3, 4, 5] }]);
      const err = await model.forward([{ cache, ids: [1, 2, 3, 4] }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('internal_error');
      expect(cache.length).toBe(5);
    });

    it.each([
      ['an id outside the vocabulary', [384], 'invalid_request_error'],
      ['a negative id', [-1], 'invalid_request_error'],
      ['a fractional id', [1.5], 'invalid_request_error'],
      ['no ids', [], 'invalid_request_error'],
    ] as const)('rejects %s', async (_what, ids, code) => {
      const err = await model.forward([{ cache: model.createCache(8), ids }]).catch((e: unknown) => e);
      expect((err as ApiError).code).toBe(code);
    });

    it('rejects bad cache use', async () => {
      const cache = model.createCache(8);
      await expect(
        model.forward([
          { cache, ids: [1] },
          { cache, ids: [2] },
        ]),
      ).rejects.toThrow(/twice/);
      const other = await load();
      await expect(model.forward([{ cache: other.createCache(8), ids: [1] }])).rejects.toThrow(/not created by this model/);
      expect(() => model.createCache(129)).toThrow(ApiError);
      expect(() => model.createCache(0)).toThrow(ApiError);
      expect(() => cache.truncate(3)).toThrow(ApiError);
    });

    it('checks its options when built', async () => {
      await expect(load({ maxChunkRows: 0 })).rejects.toThrow(/maxChunkRows/);
      await expect(load({ kvBlockTokens: 6 })).rejects.toThrow(/power of two/);
    });
  });
});

describe('MotifModel pacing and output buffers', () => {
  // The JS kernel with an async path that finishes on a later event-loop turn, like the addon's.
  function deferredKernel() {
    const js = createJsKernel();
    const calls = { sync: 0, async: 0 };
    const kernel: MatmulKernel = {
      name: 'deferred',
      matmul(y, x, rows, w) {
        calls.sync++;
        js.matmul(y, x, rows, w);
      },
      matmulAsync(y, x, rows, w) {
        calls.async++;
        return new Promise((resolve) => setImmediate(() => resolve(js.matmul(y, x, rows, w))));
      },
      readRow: (w, row, dst, off) => js.readRow(w, row, dst, off),
    };
    return { kernel, calls };
  }
  const c = byName('len19');

  it('with sliceMs 0 runs every matmul async (4 per layer + head) and the event loop turns meanwhile', async () => {
    const { kernel, calls } = deferredKernel();
    const m = await loadMotifModelDir(FIXTURE, { kernel, sliceMs: 0 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const [logits] = await m.forward([{ cache: m.createCache(32), ids: c.input_ids }]);
    clearInterval(timer);
    expect(calls).toEqual({ sync: 0, async: 4 * m.config.num_hidden_layers + 1 });
    expect(maxAbsDiff(logits!, c.last_logits)).toBeLessThan(TOL);
    expect(ticks).toBeGreaterThan(0);
  });

  it('runs concurrent forward calls one after the other with the results of sequential calls', async () => {
    const { kernel } = deferredKernel();
    const m = await loadMotifModelDir(FIXTURE, { kernel, sliceMs: 0 });
    const cases = expected.cases;
    const caches = cases.map(() => m.createCache(64));
    const out = await Promise.all(cases.map((k, i) => m.forward([{ cache: caches[i]!, ids: k.input_ids }])));
    out.forEach(([l], i) => expect(maxAbsDiff(l!, cases[i]!.last_logits)).toBeLessThan(TOL));
  });

  it('returns fresh logits by default and views of one reused buffer with reuseLogits', async () => {
    const fresh = await loadMotifModelDir(FIXTURE);
    const [a] = await fresh.forward([{ cache: fresh.createCache(32), ids: [1, 2] }]);
    const [b] = await fresh.forward([{ cache: fresh.createCache(32), ids: [3] }]);
    expect(a!.buffer).not.toBe(b!.buffer);
    const reused = await loadMotifModelDir(FIXTURE, { reuseLogits: true });
    const [r1] = await reused.forward([{ cache: reused.createCache(32), ids: c.input_ids }]);
    expect(maxAbsDiff(r1!, c.last_logits)).toBeLessThan(TOL);
    const [r2] = await reused.forward([{ cache: reused.createCache(32), ids: [3] }]);
    expect(r2!.buffer).toBe(r1!.buffer);
  });

  it('rejects bad pacing options', async () => {
    await expect(loadMotifModelDir(FIXTURE, { sliceMs: -1 })).rejects.toThrow(/sliceMs/);
  });
});
