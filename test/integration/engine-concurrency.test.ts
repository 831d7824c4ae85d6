/**
 * Many users at once on the in-process native engine (tiny-motif golden checkpoint). The model is
 * wrapped to record every forward call (one call = one scheduler step) and when each sequence's
 * KV cache was created (= when it was admitted), so fairness and abort latency are asserted in
 * steps, never in wall time:
 * - 16 concurrent generations all complete with their exact output alone, admitted FIFO;
 * - none is starved: its first token comes a bounded number of steps after admission, and from
 *   then on it is in every step until it finishes;
 * - an aborted request is in no step started after the abort, and its slot goes to a waiting
 *   request at once;
 * - KV usage returns to 0.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMotifModelDir, nodeEngineLoaders } from '../../origin/src/adapters/node/engine/engine-loaders.ts';
import type { SequenceCache } from '../../origin/src/engine/native/batching/scheduler.ts';
import type { MotifModel } from '../../origin/src/engine/native/model.ts';
import { NativeEngine, type NativeEngineOptions, type NativeModel } from '../../origin/src/engine/native/native-engine.ts';
import { DEFAULT_SAMPLING, type EngineEvent, type GenerateRequest } from '../../origin/src/engine/types.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-motif/', import.meta.url));

/** Records the scheduler's steps as seen by the model. */
class StepRecorder implements NativeModel {
  /** Per forward call: each sequence's cache, first position fed, and ids fed. */
  readonly steps: { cache: SequenceCache; from: number; ids: number[] }[][] = [];
  /** Cache → number of steps started before it was created (its admission). */
  readonly admittedAt = new Map<SequenceCache, number>();
  constructor(private readonly inner: MotifModel) {}
  get config() {
    return this.inner.config;
  }
  get eosTokenIds() {
    return this.inner.eosTokenIds;
  }
  createCache(capacity: number): SequenceCache {
    const c = this.inner.createCache(capacity);
    this.admittedAt.set(c, this.steps.length);
    return c;
  }
  forward(batch: ReadonlyArray<{ cache: SequenceCache; ids: readonly number[] }>): Promise<Float32Array[]> {
    this.steps.push(batch.map((e) => ({ cache: e.cache, from: e.cache.length, ids: [...e.ids] })));
    return this.inner.forward(batch as Parameters<MotifModel['forward']>[0]); // the caches are the inner model's
  }
  /** Indices of the steps `cache` took part in. */
  stepsOf(cache: SequenceCache): number[] {
    return this.steps.flatMap((s, i) => (s.some((e) => e.cache === cache) ? [i] : []));
  }
  /** The cache whose first fed ids start with `prompt`'s (prompts in these tests differ in their first id). */
  cacheOf(prompt: number[]): SequenceCache {
    const hit = this.steps.flat().find((e) => e.from === 0 && e.ids[0] === prompt[0]);
    if (!hit) throw new Error(`no step fed prompt ${prompt[0]}`);
    return hit.cache;
  }
}

const request = (ids: number[], maxTokens: number): GenerateRequest => ({
  requestId: `r${ids[0]}`,
  prompt: { kind: 'ids', ids },
  maxTokens,
  sampling: { ...DEFAULT_SAMPLING, temperature: 0 },
  stop: [],
  ignoreEos: true,
});

async function collect(engine: NativeEngine, req: GenerateRequest, signal = new AbortController().signal) {
  const events: EngineEvent[] = [];
  for await (const e of engine.generate(req, signal)) events.push(e);
  return { events, ids: events.flatMap((e) => (e.type === 'delta' ? e.tokenIds : [])), finish: events.at(-1) };
}

let inner: MotifModel;
beforeAll(async () => {
  inner = await loadMotifModelDir(FIXTURE);
});

async function engineWith(opts: Partial<NativeEngineOptions>): Promise<{ engine: NativeEngine; rec: StepRecorder }> {
  const rec = new StepRecorder(inner);
  const engine = new NativeEngine({ modelDir: FIXTURE, modelId: 'tiny-motif', ...opts }, { ...nodeEngineLoaders(), loadModel: async () => rec });
  await engine.load();
  return { engine, rec };
}

// 16 prompts with distinct first ids, 8–38 tokens, and 10–25 new tokens each.
const prompts = Array.from({ length: 16 }, (_, i) => Array.from({ length: 8 + ((i * 7) % 31) }, (_, j) => (i * 23 + j * 5 + 1) % 380));
const maxNew = prompts.map((_, i) => 10 + ((i * 3) % 16));

describe('native engine under concurrent load (step counts)', () => {
  it('16 concurrent generations complete FIFO with their solo output; none starved; KV back to 0', async () => {
    const maxRunning = 6;
    const prefillChunk = 32;
    const solo = await engineWith({ maxRunning: 1, prefixCache: false });
    const alone: number[][] = [];
    for (let i = 0; i < 16; i++) alone.push((await collect(solo.engine, request(prompts[i]!, maxNew[i]!))).ids);
    await solo.engine.close();

    const { engine, rec } = await engineWith({ maxRunning, maxQueue: 16, prefillChunk });
    const runs = await Promise.all(prompts.map((p, i) => collect(engine, request(p, maxNew[i]!))));

    runs.forEach((r, i) => {
      expect(r.ids, `request ${i}`).toEqual(alone[i]);
      expect(r.finish).toEqual({ type: 'finish', reason: 'length', usage: { promptTokens: prompts[i]!.length, completionTokens: maxNew[i], cachedTokens: 0 } });
    });
    const caches = prompts.map((p) => rec.cacheOf(p));
    const admitted = caches.map((c) => rec.admittedAt.get(c)!);
    expect(admitted).toEqual([...admitted].sort((a, b) => a - b)); // FIFO
    // The first submission starts step 0 at once; the next ones join before step 1; the rest waited.
    expect(admitted.slice(0, maxRunning).every((a) => a <= 1)).toBe(true);
    expect(admitted.slice(maxRunning).every((a) => a > 1)).toBe(true);

    // A sequence's prefill waits at most for the prompts admitted before it (≤ maxRunning of them).
    const longest = Math.max(...prompts.map((p) => p.length));
    const bound = Math.ceil((maxRunning * longest) / prefillChunk) + 1;
    caches.forEach((c, i) => {
      const steps = rec.stepsOf(c);
      const fed = steps.map((s) => rec.steps[s]!.find((e) => e.cache === c)!.ids.length);
      let sum = 0;
      const firstToken = steps[fed.findIndex((n) => (sum += n) === prompts[i]!.length)]!;
      expect(firstToken - admitted[i]!, `request ${i}: steps from admission to first token`).toBeLessThanOrEqual(bound);
      // After its first token it decodes in every step until its last token (never skipped).
      const decode = steps.filter((s) => s > firstToken);
      expect(decode, `request ${i}`).toEqual(Array.from({ length: maxNew[i]! - 1 }, (_, k) => firstToken + 1 + k));
    });
    expect(Math.max(...rec.steps.map((s) => s.length))).toBeLessThanOrEqual(maxRunning);
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvUsage: 0 });
    await engine.close();
  });

  it('an aborted request leaves before the next step and its slot goes to a waiting one', async () => {
    const { engine, rec } = await engineWith({ maxRunning: 2, maxQueue: 4, prefillChunk: 64 });
    const [a, b, c] = [prompts[0]!, prompts[1]!, prompts[2]!];
    const ctrl = new AbortController();
    let abortedAt = -1;
    const aRun = (async () => {
      const events: EngineEvent[] = [];
      for await (const e of engine.generate(request(a, 100), ctrl.signal)) {
        events.push(e);
        if (e.type === 'delta' && events.length === 4 && abortedAt < 0) {
          abortedAt = rec.steps.length;
          ctrl.abort();
        }
      }
      return events;
    })();
    const bRun = collect(engine, request(b, 60));
    const cRun = collect(engine, request(c, 5));
    const [aEvents, bDone, cDone] = await Promise.all([aRun, bRun, cRun]);

    const aCache = rec.cacheOf(a);
    expect(abortedAt).toBeGreaterThan(0);
    expect(rec.stepsOf(aCache).filter((s) => s >= abortedAt)).toEqual([]);
    const cAdmitted = rec.admittedAt.get(rec.cacheOf(c))!;
    expect(cAdmitted).toBeGreaterThan(0); // it had to wait for a slot …
    expect(cAdmitted).toBeLessThanOrEqual(abortedAt); // … and got A's before another step started
    const finish = aEvents.at(-1);
    expect(finish).toMatchObject({ type: 'finish', reason: 'abort', usage: { promptTokens: a.length, cachedTokens: 0 } });
    expect(finish?.type === 'finish' && finish.usage.completionTokens).toBe(aEvents.filter((e) => e.type === 'delta').length);
    expect([bDone.finish, cDone.finish]).toMatchObject([{ reason: 'length' }, { reason: 'length' }]);
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvUsage: 0 });
    await engine.close();
  });
});
