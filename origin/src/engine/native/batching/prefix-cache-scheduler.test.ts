/**
 * The scheduler with the prefix cache, on a model whose "KV" is the token ids themselves and whose
 * next token depends on every cached position: adopting a wrong block, or a block at the wrong
 * place, changes the output. Each request's output is checked against the model's math alone.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler, type SchedulerOptions } from './scheduler.ts';
import { B, IdModel, job, reference, type TestJob, V } from './test-support.ts';

const opts = (o: Partial<SchedulerOptions> = {}): SchedulerOptions => ({ maxRunning: 4, kvBudgetTokens: 256, maxQueue: 8, prefillChunk: 64, ...o });
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i) % V);

describe('Scheduler with the prefix cache', () => {
  it('serves a repeated prompt from cache: skips the cached prefill, same output, counted in tokens', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts());
    const prompt = range(1, 10);
    const a = job(prompt, 5);
    s.submit(a);
    await a.done;
    const b = job(prompt, 5);
    const callsBefore = model.calls.length;
    s.submit(b);
    await b.done;
    expect(a.out).toEqual(reference(prompt, 5));
    expect(b.out).toEqual(a.out);
    expect([a.cached, b.cached]).toEqual([0, 8]);
    expect(model.calls[callsBefore]).toEqual([{ from: 8, ids: prompt.slice(8) }]);
    expect(s.stats()).toMatchObject({ prefixCacheQueries: 20, prefixCacheHits: 8, promptTokensTotal: 20, kvUsage: 0 });
  });

  it('always recomputes the last prompt token, even when every block is cached', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts());
    const prompt = range(3, 8);
    for (const expected of [0, 4]) {
      const j = job(prompt, 3);
      s.submit(j);
      await j.done;
      expect(j.cached).toBe(expected);
      expect(j.out).toEqual(reference(prompt, 3));
    }
  });

  it('caches generated tokens too, so the next chat turn reuses the previous answer', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts());
    const turn1 = range(20, 6);
    const a = job(turn1, 6); // feeds 6 + 5 tokens: blocks 0 and 1 are full
    s.submit(a);
    await a.done;
    const turn2 = [...turn1, ...a.out.slice(0, 5), 1, 2, 3];
    const b = job(turn2, 4);
    s.submit(b);
    await b.done;
    expect(b.cached).toBe(8);
    expect(b.out).toEqual(reference(turn2, 4));
  });

  it('shares blocks with a sequence that is still running; outputs match the cache-off run', async () => {
    const run = async (prefixCache: boolean) => {
      const model = new IdModel();
      const s = new Scheduler(model, opts({ prefixCache }));
      const shared = range(40, 12);
      const others: TestJob[] = [];
      const a = job([...shared, 5], 20, (j) => {
        if (j.out.length === 2) for (const tail of [[6, 7], [8], range(60, 9)]) s.submit(others[others.push(job([...shared, ...tail], 6)) - 1]!);
      });
      s.submit(a);
      await a.done;
      await Promise.all(others.map((o) => o.done));
      return { outs: [a, ...others].map((j) => j.out), cached: others.map((o) => o.cached), stats: s.stats() };
    };
    const on = await run(true);
    const off = await run(false);
    expect(on.outs).toEqual(off.outs);
    expect(on.outs[0]).toEqual(reference([...range(40, 12), 5], 20));
    expect(on.cached).toEqual([12, 12, 12]);
    expect(off.cached).toEqual([0, 0, 0]);
    expect(off.stats).toMatchObject({ prefixCacheQueries: 0, prefixCacheHits: 0, cachedBlocks: 0 });
  });

  it('two identical prompts computed side by side cache each block once and account for both copies', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts({ kvBudgetTokens: 16 * B }));
    const prompt = range(9, 10);
    const [a, b] = [job(prompt, 5), job(prompt, 5)];
    s.submit(a);
    s.submit(b); // admitted before a cached anything: both prefill everything
    expect([a.cached, b.cached]).toEqual([0, 0]);
    await Promise.all([a.done, b.done]);
    expect(b.out).toEqual(a.out);
    expect(a.out).toEqual(reference(prompt, 5));
    // 14 tokens fed each: 3 full blocks, cached once; b's own copies were private and are gone.
    expect(s.stats()).toMatchObject({ cachedBlocks: 3, kvUsage: 0 });
    // The budget is whole again: one request can take all of it (evicting the cached 3).
    const big = job(range(50, 40), 24);
    s.submit(big);
    expect(s.stats()).toMatchObject({ running: 1, kvUsage: 1 });
    await big.done;
    expect(model.peakBlocks).toBeLessThanOrEqual(16);
  });

  it('evicts unused cached blocks before refusing admission', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts({ kvBudgetTokens: 8 * B }));
    const a = job(range(1, 10), 6);
    s.submit(a);
    await a.done;
    expect(s.stats()).toMatchObject({ cachedBlocks: 3, kvUsage: 0 });
    const b = job(range(50, 20), 12); // all 8 blocks
    s.submit(b);
    expect(s.stats()).toMatchObject({ running: 1, waiting: 0, cachedBlocks: 0, kvUsage: 1 });
    await b.done;
    expect(b.out).toEqual(reference(range(50, 20), 12));
    expect(model.peakBlocks).toBeLessThanOrEqual(8);
  });

  it('counts hits it is about to hold as not reclaimable, evicting only the rest', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts({ kvBudgetTokens: 6 * B }));
    const a = job(range(1, 10), 6);
    s.submit(a);
    await a.done; // 3 cached blocks, all unused
    const prompt = [...range(1, 10), ...a.out.slice(0, 2)];
    const b = job(prompt, 12); // 6 blocks, 2 of them hits: needs 4 = 3 free + 1 evicted
    s.submit(b);
    expect(b.cached).toBe(8);
    expect(s.stats()).toMatchObject({ running: 1, cachedBlocks: 2 });
    await b.done;
    expect(b.out).toEqual(reference(prompt, 12));
  });

  it('waits (bounded queue) while cached blocks are in use, and starts once they are released', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts({ kvBudgetTokens: 8 * B, maxQueue: 1 }));
    const a = job(range(1, 12), 12);
    const b = job(range(30, 10), 6);
    s.submit(a);
    s.submit(b);
    expect(s.stats()).toMatchObject({ running: 1, waiting: 1 });
    expect(() => s.submit(job(range(70, 4), 2))).toThrow(expect.objectContaining({ code: 'overloaded' }));
    expect(await Promise.all([a.done, b.done])).toEqual(['done', 'done']);
    expect(b.out).toEqual(reference(range(30, 10), 6));
    expect(model.peakBlocks).toBeLessThanOrEqual(8);
    expect(s.stats()).toMatchObject({ kvUsage: 0, running: 0, waiting: 0 });
  });

  it('an abort mid-prefill returns the KV; the blocks it completed stay cached for others', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts({ prefillChunk: 8 }));
    const prompt = range(5, 20);
    const a = job(prompt, 4);
    s.submit(a);
    await new Promise((r) => setImmediate(r)); // first prefill chunk (8 tokens = 2 blocks) done
    a.controller.abort();
    expect(await a.done).toBe('abort');
    expect(model.calls).toHaveLength(1); // it left between steps
    expect(s.stats()).toMatchObject({ running: 0, kvUsage: 0, cachedBlocks: 2 });
    const b = job(prompt, 4);
    s.submit(b);
    await b.done;
    expect(b.cached).toBe(8);
    expect(b.out).toEqual(reference(prompt, 4));
  });

  it('counts the budget in whole blocks', () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts({ kvBudgetTokens: 10 }));
    expect(s.maxSequenceTokens).toBe(8);
    expect(() => s.submit(job(range(1, 5), 4))).toThrow(expect.objectContaining({ code: 'context_length_exceeded' }));
    expect(() => new Scheduler(model, opts({ kvBudgetTokens: 3 }))).toThrow(/at least one block/);
  });
});
