/**
 * One request can never take the engine down: faults injected into one sequence of a running
 * batch (its forward step, its callbacks) fail that sequence alone, free its blocks and let the
 * others finish; a broken invariant of the shared KV bookkeeping restarts the scheduler
 * in-process (running sequences fail retryably, the queue goes on) instead of escaping.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { Scheduler, type SchedulerOptions } from './scheduler.ts';
import { B, IdCache, IdModel, job, reference, V } from './test-support.ts';

const opts = (o: Partial<SchedulerOptions> = {}): SchedulerOptions => ({ maxRunning: 4, kvBudgetTokens: 256, maxQueue: 8, prefillChunk: 64, ...o });
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i) % V);
const faults: unknown[] = [];
const hooks = { onFault: (err: unknown) => void faults.push(err) };

describe('Scheduler faults', () => {
  it('a forward fault in one sequence of a running batch fails it alone; the others finish', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts(), hooks);
    const POISON = 96;
    model.poisonId = POISON;
    const good = [range(1, 9), range(20, 5), range(40, 2 * B)].map((p) => job(p, 6));
    for (const j of good.slice(0, 2)) s.submit(j);
    await new Promise((r) => setImmediate(r)); // they are mid-decode when the bad one joins
    const bad = job([...range(60, 3), POISON], 6);
    s.submit(bad);
    s.submit(good[2]!);
    expect(await bad.done).toMatch(/internal_error|model failed/i);
    expect(await Promise.all(good.map((j) => j.done))).toEqual(['done', 'done', 'done']);
    good.forEach((j) => expect(j.out).toEqual(reference(j.promptIds, 6)));
    expect(s.stats()).toMatchObject({ running: 0, kvUsage: 0, restarts: 0 });
    // Its blocks went back: one request can take the whole budget now.
    model.poisonId = undefined;
    const big = job(range(3, 200), 56);
    s.submit(big);
    expect(await big.done).toBe('done');
  });

  it('a callback that throws fails its own sequence; onStart and onError throwing cannot unwind the loop', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts(), hooks);
    const a = job(range(1, 6), 8);
    const b = job(range(10, 6), 8, (j) => {
      if (j.out.length === 3) throw new Error('injected: sampler fault');
    });
    const c = job(range(30, 6), 8);
    c.onStart = () => {
      throw new Error('injected: onStart fault');
    };
    s.submit(a);
    s.submit(b);
    s.submit(c);
    expect(await b.done).toMatch(/sampler fault/);
    expect(await Promise.all([a.done, c.done])).toEqual(['done', 'done']);
    expect(a.out).toEqual(reference(range(1, 6), 8));
    const d = job(range(50, 6), 8);
    d.onError = () => {
      throw new Error('injected: onError fault');
    };
    model.poisonId = 50;
    s.submit(d);
    await s.drain(); // idle: d failed, and its throwing onError was survived
    expect(faults.at(-1)).toMatchObject({ message: /onError fault/ });
    expect(s.stats()).toMatchObject({ running: 0, kvUsage: 0, restarts: 0 });
  });

  it('a broken KV invariant restarts the engine in-process: running sequences fail retryably, the queue goes on', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts({ maxRunning: 2 }), hooks);
    // The second block any cache shares breaks the pool's bookkeeping mid-step.
    let shared = 0;
    const share = IdCache.prototype.shareBlock;
    IdCache.prototype.shareBlock = function (i: number) {
      if (++shared === 2) throw new Error('injected: KV bookkeeping fault');
      return share.call(this, i);
    };
    const queued = job(range(40, 3), 5);
    try {
      const running = [job(range(1, 2 * B), 4), job(range(20, 2 * B), 4)];
      for (const j of [...running, queued]) s.submit(j);
      expect(s.stats()).toMatchObject({ running: 2, waiting: 1 });
      const ends = await Promise.all(running.map((j) => j.done));
      expect(ends.every((e) => e === 'done' || /restarted/.test(e))).toBe(true);
      expect(ends.some((e) => /restarted/.test(e))).toBe(true);
      expect(await queued.done).toBe('done');
      expect(queued.out).toEqual(reference(range(40, 3), 5));
      expect(s.stats()).toMatchObject({ restarts: 1, running: 0, kvUsage: 0, cachedBlocks: 1 });
      expect(faults.at(-1)).toMatchObject({ message: /bookkeeping fault/ });
    } finally {
      IdCache.prototype.shareBlock = share;
    }
    // After the restart the prefix cache works again (the queued job's first block is cached).
    const again = job([...range(40, 3), ...queued.out.slice(0, 3)], 2);
    s.submit(again);
    expect(await again.done).toBe('done');
    expect(again.cached).toBe(B);
  });

  it('the restart error is the retryable engine_unavailable (503 with retry-after)', async () => {
    const model = new IdModel();
    const s = new Scheduler(model, opts(), hooks);
    let failed!: (e: unknown) => void;
    const error = new Promise<unknown>((r) => (failed = r));
    const j = job(range(1, 2 * B), 4);
    j.onError = (e) => failed(e);
    const share = IdCache.prototype.shareBlock;
    IdCache.prototype.shareBlock = () => {
      throw new Error('injected');
    };
    let err: unknown;
    try {
      s.submit(j);
      err = await error;
    } finally {
      IdCache.prototype.shareBlock = share;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'engine_unavailable', status: 503, retryAfter: 1 });
  });
});
