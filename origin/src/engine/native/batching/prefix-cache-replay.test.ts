/**
 * The README's request, repeated, on the real forward pass (tiny-motif fixture) — the first thing
 * every user does, and what used to kill the origin on its second run — and a randomized replay
 * of repeated, extended and shortened chats through the NativeEngine with the prefix cache,
 * against a cache-off engine: the same greedy ids, no error.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeEngineLoaders } from '../../../adapters/node/engine/engine-loaders.ts';
import { DEFAULT_SAMPLING, type EngineEvent, type GenerateRequest } from '../../types.ts';
import { NativeEngine } from '../native-engine.ts';
import { createPrng } from '../sampling/prng.ts';

const FIXTURE = fileURLToPath(new URL('../../../../../test/fixtures/tiny-motif/', import.meta.url));
type Message = { role: string; content: string };

const engines: Record<'on' | 'off', NativeEngine> = {
  on: new NativeEngine({ modelDir: FIXTURE, modelId: 'tiny-motif', prefixCache: true, kernels: 'js' }, nodeEngineLoaders()),
  off: new NativeEngine({ modelDir: FIXTURE, modelId: 'tiny-motif', prefixCache: false, kernels: 'js' }, nodeEngineLoaders()),
};
beforeAll(() => Promise.all(Object.values(engines).map((e) => e.load())));
afterAll(() => Promise.all(Object.values(engines).map((e) => e.close())));

/** One request's outcome: generated ids and finish, or the error it failed with. */
async function run(engine: NativeEngine, messages: Message[], maxTokens: number, temperature = 0): Promise<string> {
  const req: GenerateRequest = { requestId: 'r', prompt: { kind: 'chat', messages }, maxTokens, sampling: { ...DEFAULT_SAMPLING, temperature }, stop: [] };
  const ids: number[] = [];
  let finish: EngineEvent | undefined;
  try {
    for await (const e of engine.generate(req, new AbortController().signal)) {
      if (e.type === 'delta') ids.push(...e.tokenIds);
      if (e.type === 'finish') finish = e;
    }
  } catch (err) {
    return `error: ${String(err)}`;
  }
  return `${ids.join(',')} ${finish?.type === 'finish' ? finish.reason : 'no finish'}`;
}

describe("the README's request on the real forward pass", () => {
  it('"Hello!" with max_tokens 32, ten times in a row (sampled) and three times greedy: every run completes', async () => {
    const hello = [{ role: 'user', content: 'Hello!' }];
    for (let i = 0; i < 10; i++) expect(await run(engines.on, hello, 32, 1)).toMatch(/ (length|stop)$/);
    const greedy = [await run(engines.off, hello, 32)];
    for (let i = 0; i < 3; i++) expect(await run(engines.on, hello, 32)).toBe(greedy[0]);
    expect(engines.on.schedulerStats()).toMatchObject({ running: 0, kvUsage: 0, restarts: 0 });
  });
});

describe('randomized chats through the prefix cache vs a cache-off engine', () => {
  it.each([1, 2])('seed %i: repeated, extended and shortened conversations give the same ids', async (seed) => {
    const gen = createPrng(seed);
    const rand = () => gen.next();
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const words = ['Hello!', 'How are you?', 'Tell me about Motif.', 'ok', 'What is 2+2?', 'Thanks, and again please.'];
    const seen: Message[][] = [[{ role: 'user', content: 'Hello!' }]];
    for (let wave = 0; wave < 4; wave++) {
      const batch: { messages: Message[]; maxTokens: number }[] = [];
      for (let k = 0; k < 3; k++) {
        const base = pick(seen);
        const kind = Math.floor(rand() * 3);
        const messages =
          kind === 0
            ? base // repeated
            : kind === 1
              ? [...base, { role: 'assistant', content: pick(words) }, { role: 'user', content: pick(words) }] // the next turn
              : base.length > 1
                ? base.slice(0, base.length - 2)
                : [{ role: 'user', content: pick(words) }]; // shortened
        seen.push(messages);
        batch.push({ messages, maxTokens: 1 + Math.floor(rand() * 24) });
      }
      // Each wave runs as one batch on each engine.
      const on = await Promise.all(batch.map((b) => run(engines.on, b.messages, b.maxTokens)));
      const off = await Promise.all(batch.map((b) => run(engines.off, b.messages, b.maxTokens)));
      expect(on).toEqual(off);
      for (const r of on) expect(r).not.toMatch(/^error/);
    }
    expect(engines.on.schedulerStats()).toMatchObject({ running: 0, kvUsage: 0, restarts: 0 });
    expect(engines.on.stats().prefixCacheHits).toBeGreaterThan(0);
  });
});
