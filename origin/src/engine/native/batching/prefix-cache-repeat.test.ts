/**
 * Repeated prompts through the prefix cache: the README's curl example run twice used to crash the
 * origin (a prompt of whole blocks whose first blocks were already cached, then a new block after
 * them). Prompts of exactly 1, 2 and 3 blocks, repeated alone and in batches, and a randomized
 * replay of repeated, extended and shortened prompts, all against the cache-off scheduler and the
 * model's own math.
 */
import { describe, expect, it } from 'vitest';
import { createPrng } from '../sampling/prng.ts';
import { Scheduler, type SchedulerOptions } from './scheduler.ts';
import { B, IdModel, job, reference, type TestJob, V } from './test-support.ts';

const opts = (o: Partial<SchedulerOptions> = {}): SchedulerOptions => ({ maxRunning: 4, kvBudgetTokens: 512, maxQueue: 64, prefillChunk: 64, ...o });
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i) % V);

/** Run `waves` of jobs (each wave submitted together, waves one after another); outputs in order. */
async function replay(prefixCache: boolean, waves: { prompt: number[]; maxNew: number }[][], o: Partial<SchedulerOptions> = {}) {
  const model = new IdModel();
  const s = new Scheduler(model, opts({ ...o, prefixCache }));
  const outs: string[][] = [];
  const cached: number[] = [];
  for (const wave of waves) {
    const jobs: TestJob[] = wave.map((w) => job(w.prompt, w.maxNew));
    for (const j of jobs) s.submit(j);
    const ends = await Promise.all(jobs.map((j) => j.done));
    outs.push(jobs.map((j, i) => (ends[i] === 'done' ? j.out.join(',') : ends[i]!)));
    cached.push(...jobs.map((j) => j.cached ?? -1));
  }
  return { outs, cached, stats: s.stats(), model };
}

describe('repeated prompts of whole blocks', () => {
  it.each([1, 2, 3])('a prompt of exactly %i block(s), repeated with longer and shorter completions', async (blocks) => {
    const prompt = range(11 * blocks, blocks * B);
    // Each run caches further than the last (new blocks after cached twins), then a short one.
    const lengths = [2, B + 1, 3 * B + 1, 1, 2 * B];
    const waves = lengths.map((maxNew) => [{ prompt, maxNew }]);
    const on = await replay(true, waves);
    const off = await replay(false, waves);
    expect(on.outs).toEqual(off.outs);
    on.outs.forEach(([out], i) => expect(out).toBe(reference(prompt, lengths[i]!).join(',')));
    // The last prompt token is always recomputed: at most blocks − 1 come from the cache.
    expect(on.cached).toEqual([0, ...lengths.slice(1).map(() => (blocks - 1) * B)]);
    expect(on.stats).toMatchObject({ running: 0, kvUsage: 0, restarts: 0 });
  });

  it.each([1, 2, 3])('a prompt of exactly %i block(s), in batches of identical requests', async (blocks) => {
    const prompt = range(5 * blocks, blocks * B);
    const wave = [2, 2 * B + 3, B, 3 * B].map((maxNew) => ({ prompt, maxNew }));
    const on = await replay(true, [wave, wave, wave]);
    const off = await replay(false, [wave, wave, wave]);
    expect(on.outs).toEqual(off.outs);
    for (const outs of on.outs) outs.forEach((out, i) => expect(out).toBe(reference(prompt, wave[i]!.maxNew).join(',')));
    expect(on.stats).toMatchObject({ running: 0, kvUsage: 0, restarts: 0 });
  });

  it('copy-on-write: a block shared by one sequence and twinned in another stays intact for later readers', async () => {
    const prompt = range(3, 2 * B);
    const model = new IdModel();
    const s = new Scheduler(model, opts());
    const a = job(prompt, 3 * B);
    const b = job(prompt, 3 * B);
    s.submit(a);
    s.submit(b); // b computes twins of a's blocks side by side
    await Promise.all([a.done, b.done]);
    const c = job([...prompt, ...a.out.slice(0, 2 * B)], 2);
    s.submit(c);
    await c.done;
    expect(c.cached).toBe(3 * B);
    expect(c.out).toEqual(reference([...prompt, ...a.out.slice(0, 2 * B)], 2));
  });
});

describe('randomized replay against the cache-off scheduler', () => {
  it.each([1, 2, 3, 4, 5, 6])('seed %i: repeated, extended and shortened prompts give identical outputs, no error', async (seed) => {
    const gen = createPrng(seed);
    const rand = () => gen.next();
    const int = (n: number) => Math.floor(rand() * n);
    // The first prompt runs alone, then again beside random ones: the cache always has something to serve.
    const first = range(int(V), 2 * B + 1 + int(2 * B));
    const seen: number[][] = [first];
    const waves: { prompt: number[]; maxNew: number }[][] = [[{ prompt: first, maxNew: B }]];
    for (let w = 0; w < 8; w++) {
      const wave: { prompt: number[]; maxNew: number }[] = w === 0 ? [{ prompt: first, maxNew: 2 * B }] : [];
      for (let k = 1 + int(4); k > 0; k--) {
        const base = seen[int(seen.length)]!;
        const kind = int(4);
        const prompt =
          kind === 0
            ? [...base] // repeated
            : kind === 1
              ? [...base, ...range(int(V), 1 + int(2 * B))] // extended (the next turn)
              : kind === 2
                ? base.slice(0, Math.max(1, base.length - 1 - int(base.length))) // shortened
                : range(int(V), 1 + int(4 * B)); // new
        // Whole-block prompts are the edge the crash lived on: make them common.
        if (rand() < 0.4 && prompt.length > B) prompt.length -= prompt.length % B;
        seen.push(prompt);
        wave.push({ prompt, maxNew: 1 + int(3 * B) });
      }
      waves.push(wave);
    }
    const small = { kvBudgetTokens: 24 * B, maxRunning: 3 }; // tight: eviction and queueing happen too
    const on = await replay(true, waves, small);
    const off = await replay(false, waves, small);
    expect(on.outs).toEqual(off.outs);
    waves.forEach((wave, w) => wave.forEach((j, i) => expect(on.outs[w]![i]).toBe(reference(j.prompt, j.maxNew).join(','))));
    expect(on.stats).toMatchObject({ running: 0, waiting: 0, kvUsage: 0, restarts: 0 });
    expect(on.stats.prefixCacheHits).toBeGreaterThan(0);
    expect(on.model.peakBlocks).toBeLessThanOrEqual(24);
  });
});
