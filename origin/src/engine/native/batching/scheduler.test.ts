import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { type BatchModel, type Job, Scheduler, type SchedulerOptions, type SequenceCache } from './scheduler.ts';

const V = 50;

/**
 * A model whose next token is (last id + 1) mod V; it records every forward call. Its caches have
 * one-token blocks, so the KV budget arithmetic reads in tokens.
 */
class CountingModel implements BatchModel {
  readonly calls: { tag: string; ids: number[] }[][] = [];
  /** First prompt id → job tag, so forward calls can be attributed to jobs. */
  readonly tags = new Map<number, string>();
  failNext = false;
  onForward: (() => void) | undefined;

  createCache(capacity: number): SequenceCache & { tag: string; truncated: number } {
    let length = 0;
    const cache = {
      tag: '',
      truncated: 0,
      capacity,
      blockTokens: 1,
      shareBlock: () => ({}),
      adoptBlocks(blocks: readonly object[]) {
        length = blocks.length;
      },
      get length() {
        return length;
      },
      truncate(n: number) {
        length = n;
        cache.truncated++;
      },
      push(k: number) {
        if (length + k > capacity) throw new Error('over capacity');
        length += k;
      },
    };
    return cache;
  }

  async forward(batch: ReadonlyArray<{ cache: SequenceCache; ids: readonly number[] }>): Promise<Float32Array[]> {
    for (const e of batch) {
      const c = e.cache as unknown as { tag: string };
      if (e.cache.length === 0) c.tag = this.tags.get(e.ids[0]!) ?? '?';
    }
    this.calls.push(batch.map((e) => ({ tag: (e.cache as unknown as { tag: string }).tag, ids: [...e.ids] })));
    this.onForward?.();
    await Promise.resolve();
    if (this.failNext) throw new Error('device lost');
    return batch.map((e) => {
      const lengthBefore = e.cache.length;
      (e.cache as unknown as { push(k: number): void }).push(e.ids.length);
      expect(e.cache.length).toBe(lengthBefore + e.ids.length);
      const row = new Float32Array(V);
      row[(e.ids[e.ids.length - 1]! + 1) % V] = 1;
      return row;
    });
  }
}

interface TestJob extends Job {
  out: number[];
  done: Promise<'done' | 'abort' | Error>;
  controller: AbortController;
}

/** A job generating `maxNew` tokens greedily; its first prompt id names it in `model.calls`. */
function job(model: CountingModel, tag: string, prompt: number[], maxNew: number, extra: Partial<Pick<Job, 'onLogits'>> = {}): TestJob {
  const controller = new AbortController();
  let settle!: (v: 'done' | 'abort' | Error) => void;
  const out: number[] = [];
  const j: TestJob = {
    out,
    controller,
    done: new Promise((r) => (settle = r)),
    promptIds: prompt,
    reserveTokens: prompt.length + maxNew,
    signal: controller.signal,
    onLogits(logits) {
      extra.onLogits?.(logits);
      out.push(logits.indexOf(1));
      if (out.length >= maxNew) {
        settle('done');
        return undefined;
      }
      return out[out.length - 1];
    },
    onAbort: () => settle('abort'),
    onError: (err) => settle(err as Error),
  };
  model.tags.set(prompt[0] ?? -1, tag);
  return j;
}

// The prefix cache has its own suite (prefix-cache-scheduler.test.ts); these tests see every prompt token fed.
const opts = (o: Partial<SchedulerOptions> = {}): SchedulerOptions => ({
  maxRunning: 4,
  kvBudgetTokens: 1000,
  maxQueue: 8,
  prefillChunk: 64,
  prefixCache: false,
  ...o,
});

describe('Scheduler', () => {
  it('rejects bad options at construction', () => {
    expect(() => new Scheduler(new CountingModel(), opts({ maxRunning: 0 }))).toThrow();
    expect(() => new Scheduler(new CountingModel(), { ...opts(), bogus: 1 } as SchedulerOptions)).toThrow();
  });

  it('runs one forward per step with every decode token plus chunked prefill of new arrivals', async () => {
    const model = new CountingModel();
    const s = new Scheduler(model, opts({ prefillChunk: 4 }));
    let b: TestJob | undefined;
    const a = job(model, 'a', [1, 2, 3], 8, {
      onLogits: () => {
        // B arrives while A is decoding.
        if (!b && a.out.length === 1) {
          b = job(model, 'b', [10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 3);
          s.submit(b);
        }
      },
    });
    s.submit(a);
    expect(await a.done).toBe('done');
    expect(await b!.done).toBe('done');
    expect(a.out).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(b!.out).toEqual([20, 21, 22]);
    // Step 1: A's prompt. Then A decodes every step while B's 10-token prompt goes in 4+4+2.
    const bSteps = model.calls.map((c) => c.find((e) => e.tag === 'b')?.ids.length ?? 0);
    expect(bSteps.slice(0, 5)).toEqual([0, 0, 4, 4, 2]);
    for (const call of model.calls.slice(1, 5)) expect(call.find((e) => e.tag === 'a')?.ids).toHaveLength(1);
    expect(s.stats()).toMatchObject({ running: 0, waiting: 0, promptTokensTotal: 13, generationTokensTotal: 11 });
  });

  it('bounds the batch by maxRunning and by the KV budget, admitting FIFO', async () => {
    const model = new CountingModel();
    const s = new Scheduler(model, opts({ maxRunning: 2 }));
    const jobs = ['a', 'b', 'c'].map((t) => job(model, t, [1, 2], 3));
    for (const j of jobs) s.submit(j);
    expect(s.stats()).toMatchObject({ running: 2, waiting: 1 });
    await Promise.all(jobs.map((j) => j.done));
    expect(Math.max(...model.calls.map((c) => c.length))).toBe(2);

    const m2 = new CountingModel();
    const s2 = new Scheduler(m2, opts({ kvBudgetTokens: 20 }));
    const big = ['x', 'y'].map((t) => job(m2, t, [1, 2, 3, 4], 8)); // 12 tokens each
    for (const j of big) s2.submit(j);
    expect(s2.stats()).toMatchObject({ running: 1, waiting: 1, kvUsage: 12 / 20 });
    await Promise.all(big.map((j) => j.done));
    expect(Math.max(...m2.calls.map((c) => c.length))).toBe(1);
    expect(s2.stats().kvUsage).toBe(0);
  });

  it('throws overloaded with retry-after when the queue is full', () => {
    const model = new CountingModel();
    const s = new Scheduler(model, opts({ maxRunning: 1, maxQueue: 1 }));
    s.submit(job(model, 'a', [1], 5));
    s.submit(job(model, 'b', [1], 5));
    try {
      s.submit(job(model, 'c', [1], 5));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('overloaded');
      expect((err as ApiError).retryAfter).toBeGreaterThanOrEqual(1);
    }
  });

  it('rejects empty prompts and requests larger than the KV budget', () => {
    const model = new CountingModel();
    const s = new Scheduler(model, opts({ kvBudgetTokens: 10 }));
    expect(() => s.submit(job(model, 'a', [], 5))).toThrow(/empty/);
    expect(() => s.submit(job(model, 'b', [1, 2, 3], 8))).toThrow(expect.objectContaining({ code: 'context_length_exceeded' }));
  });

  it('abort takes a running sequence out before the next step and admits the next one', async () => {
    const model = new CountingModel();
    const s = new Scheduler(model, opts({ maxRunning: 1, maxQueue: 4 }));
    const a = job(model, 'a', [1, 2], 100, {
      onLogits: () => {
        if (a.out.length === 2) a.controller.abort();
      },
    });
    const b = job(model, 'b', [5], 2);
    s.submit(a);
    s.submit(b);
    expect(await a.done).toBe('abort');
    expect(a.out).toHaveLength(3); // the token sampled in the step during which abort fired
    expect(await b.done).toBe('done');
    const lastWithA = model.calls.findLastIndex((c) => c.some((e) => e.tag === 'a'));
    expect(lastWithA).toBe(2);
    expect(model.calls[3]!.map((e) => e.tag)).toEqual(['b']);
  });

  it('abort while waiting frees the queue slot at once; aborted signal never runs', async () => {
    const model = new CountingModel();
    const s = new Scheduler(model, opts({ maxRunning: 1, maxQueue: 1 }));
    const a = job(model, 'a', [1], 3);
    const b = job(model, 'b', [2], 3);
    s.submit(a);
    s.submit(b);
    b.controller.abort();
    expect(await b.done).toBe('abort');
    expect(s.stats().waiting).toBe(0);
    const c = job(model, 'c', [3], 3);
    c.controller.abort();
    s.submit(c);
    expect(await c.done).toBe('abort');
    expect(await a.done).toBe('done');
    expect(model.calls.flat().some((e) => e.tag !== 'a')).toBe(false);
  });

  it('keeps an in-flight cache intact when aborted mid-step, then frees it', async () => {
    const model = new CountingModel();
    const s = new Scheduler(model, opts());
    const a = job(model, 'a', [1, 2, 3], 10);
    model.onForward = () => {
      if (model.calls.length === 2) a.controller.abort(); // during the second forward call
    };
    s.submit(a);
    expect(await a.done).toBe('abort');
    // The batch slot is free at once; the KV the forward call is still writing is freed when it returns.
    expect(s.stats()).toMatchObject({ running: 0 });
    await s.drain();
    expect(s.stats()).toMatchObject({ running: 0, kvUsage: 0 });
    expect(model.calls).toHaveLength(2);
    expect(a.out).toHaveLength(1); // the aborted step's logits are not sampled
  });

  it('fails the batch with an ApiError when forward throws, and keeps serving', async () => {
    const model = new CountingModel();
    const s = new Scheduler(model, opts());
    model.failNext = true;
    const a = job(model, 'a', [1], 3);
    s.submit(a);
    const r = await a.done;
    expect(r).toBeInstanceOf(ApiError);
    expect((r as ApiError).code).toBe('internal_error');
    model.failNext = false;
    const b = job(model, 'b', [1], 2);
    s.submit(b);
    expect(await b.done).toBe('done');
  });

  it('drain waits for running work and refuses new jobs; close fails the rest', async () => {
    const model = new CountingModel();
    const s = new Scheduler(model, opts());
    const a = job(model, 'a', [1], 5);
    s.submit(a);
    const drained = s.drain();
    expect(() => s.submit(job(model, 'b', [1], 1))).toThrow(expect.objectContaining({ code: 'engine_unavailable' }));
    await drained;
    expect(await a.done).toBe('done');

    const s2 = new Scheduler(model, opts());
    const c = job(model, 'c', [1], 500);
    s2.submit(c);
    await s2.close();
    expect(await c.done).toMatchObject({ code: 'engine_unavailable' });
  });
});
