import { describe, expect, it } from 'vitest';
import { createLimiter, mapLimit } from './concurrency-limit.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('mapLimit', () => {
  it('keeps order, bounds concurrency, and rethrows the first failure after all settle', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([1, 2, 3, 4, 5], 2, async (x) => {
      peak = Math.max(peak, ++inFlight);
      await tick();
      inFlight--;
      return x * 10;
    });
    expect(out).toEqual([10, 20, 30, 40, 50]);
    expect(peak).toBe(2);
    const settled: number[] = [];
    await expect(
      mapLimit([1, 2, 3], 3, async (x) => {
        await tick();
        settled.push(x);
        if (x === 1) throw new Error('one');
      }),
    ).rejects.toThrow('one');
    expect(settled.sort()).toEqual([1, 2, 3]);
  });
});

describe('createLimiter', () => {
  it('runs at most `limit` at once, in arrival order, and frees places on failure', async () => {
    const lim = createLimiter(2);
    let inFlight = 0;
    let peak = 0;
    const started: number[] = [];
    const job = (i: number, fail = false) =>
      lim.run(async () => {
        started.push(i);
        peak = Math.max(peak, ++inFlight);
        await tick();
        inFlight--;
        if (fail) throw new Error(`job ${i}`);
        return i;
      });
    const all = await Promise.allSettled([job(0, true), job(1), job(2, true), job(3), job(4)]);
    expect(all.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(await job(5)).toBe(5); // nothing leaked: a place is free
  });
});
