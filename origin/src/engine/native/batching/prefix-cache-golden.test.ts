/**
 * The prefix cache on the real forward pass (tiny-motif golden fixture): reused KV blocks must
 * give the golden logits and greedy ids, and a prompt that shares a prefix with an earlier one
 * must get the logits it gets alone — served from cache, in a batch, or both.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMotifModelDir, nodeEngineLoaders } from '../../../adapters/node/engine/engine-loaders.ts';
import { DEFAULT_SAMPLING, type EngineEvent } from '../../types.ts';
import type { MotifModel } from '../model.ts';
import { NativeEngine } from '../native-engine.ts';
import { type Job, Scheduler } from './scheduler.ts';

const FIXTURE = fileURLToPath(new URL('../../../../../test/fixtures/tiny-motif/', import.meta.url));
interface Case {
  name: string;
  input_ids: number[];
  last_logits: number[];
  greedy_new_ids: number[];
}
const expected = JSON.parse(readFileSync(`${FIXTURE}expected.json`, 'utf8')) as {
  cases: Case[];
  chat: { messages: { role: string; content: string }[]; ids: number[]; greedy_new_ids: number[] };
};
const byName = (n: string) => expected.cases.find((c) => c.name === n)!;

interface Run {
  /** Logits after the prompt (what the first token is sampled from). */
  first: Float32Array;
  ids: number[];
  cached: number;
}

/** Greedy generation of `n` tokens as a scheduler job; resolves with the first logits, ids and cached tokens. */
function greedy(s: Scheduler, prompt: number[], n: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const ids: number[] = [];
    let first: Float32Array | undefined;
    let cached = -1;
    const job: Job = {
      promptIds: prompt,
      reserveTokens: prompt.length + n,
      signal: new AbortController().signal,
      onStart: (i) => void (cached = i.cachedTokens),
      onLogits(logits) {
        first ??= logits.slice();
        let best = 0;
        for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
        ids.push(best);
        if (ids.length < n) return best;
        resolve({ first, ids, cached });
        return undefined;
      },
      onAbort: () => reject(new Error('aborted')),
      onError: reject,
    };
    s.submit(job);
  });
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

let model: MotifModel;
beforeAll(async () => {
  model = await loadMotifModelDir(FIXTURE);
});
const scheduler = (prefixCache = true) => new Scheduler(model, { maxRunning: 8, kvBudgetTokens: 8 * 128, maxQueue: 16, prefillChunk: 64, prefixCache });

describe('prefix cache on the golden fixture', () => {
  it.each(['len19', 'len40'])('%s again: served from cache with the golden logits and greedy ids', async (name) => {
    const c = byName(name);
    const s = scheduler();
    const cold = await greedy(s, c.input_ids, 12);
    const warm = await greedy(s, c.input_ids, 12);
    expect(cold.cached).toBe(0);
    expect(warm.cached).toBe(Math.floor((c.input_ids.length - 1) / 16) * 16);
    expect(warm.cached).toBeGreaterThan(0);
    for (const r of [cold, warm]) {
      expect(maxAbsDiff(r.first, c.last_logits)).toBeLessThan(1e-4);
      expect(r.ids).toEqual(c.greedy_new_ids);
    }
    expect(s.stats()).toMatchObject({ prefixCacheQueries: 2 * c.input_ids.length, prefixCacheHits: warm.cached, kvUsage: 0 });
  });

  it('a prompt sharing a prefix gets the logits it gets alone; so does a batch mixing cached and new prompts', async () => {
    const base = byName('len40').input_ids;
    const branch = [...base.slice(0, 35), 7, 11, 200, 3];
    const turn2 = [...base, ...byName('len40').greedy_new_ids.slice(0, 11), 382, 5];
    const prompts = [branch, turn2, byName('len19').input_ids, expected.chat.ids, base];
    // Alone: every prompt on a fresh cache-less scheduler, one at a time.
    const alone: Run[] = [];
    for (const p of prompts) alone.push(await greedy(scheduler(false), p, 10));

    const s = scheduler();
    await greedy(s, base, 12); // caches base and its answer (40 + 11 tokens fed: 3 full blocks)
    const runs = await Promise.all(prompts.map((p) => greedy(s, p, 10)));
    expect(runs.map((r) => r.cached)).toEqual([32, 48, 0, 0, 32]);
    runs.forEach((r, i) => {
      expect(maxAbsDiff(r.first, alone[i]!.first), `prompt ${i}`).toBeLessThan(1e-5);
      expect(r.ids, `prompt ${i}`).toEqual(alone[i]!.ids);
    });
    expect(runs[4]!.ids).toEqual(byName('len40').greedy_new_ids.slice(0, 10));
    expect(s.stats().kvUsage).toBe(0);
  });
});

describe('NativeEngine with the prefix cache', () => {
  const collect = async (engine: NativeEngine) => {
    const events: EngineEvent[] = [];
    const req = {
      requestId: 'r',
      prompt: { kind: 'chat' as const, messages: expected.chat.messages },
      maxTokens: 12,
      sampling: { ...DEFAULT_SAMPLING, temperature: 0 },
      stop: [],
      ignoreEos: true,
    };
    for await (const e of engine.generate(req, new AbortController().signal)) events.push(e);
    return events;
  };

  it.each([true, false])('prefixCache %s: the same chat twice gives the golden ids; start and usage report cached tokens', async (prefixCache) => {
    const engine = new NativeEngine({ modelDir: FIXTURE, modelId: 'tiny-motif', prefixCache }, nodeEngineLoaders());
    await engine.load();
    const cached = prefixCache ? Math.floor((expected.chat.ids.length - 1) / 16) * 16 : 0;
    await collect(engine);
    const events = await collect(engine);
    const stats = engine.stats();
    await engine.close();
    expect(events[0]).toEqual({ type: 'start', promptTokens: expected.chat.ids.length, cachedTokens: cached });
    expect(events.flatMap((e) => (e.type === 'delta' ? e.tokenIds : []))).toEqual(expected.chat.greedy_new_ids);
    expect(events.at(-1)).toMatchObject({ type: 'finish', usage: { promptTokens: expected.chat.ids.length, cachedTokens: cached } });
    expect(stats).toMatchObject({ prefixCacheQueries: prefixCache ? 2 * expected.chat.ids.length : 0, prefixCacheHits: cached });
  });
});
