import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { nodeEngineLoaders } from '../../adapters/node/engine/engine-loaders.ts';
import { DEFAULT_SAMPLING, type EngineEvent, type GenerateRequest, type SamplingParams } from '../types.ts';
import { NativeEngine, type NativeEngineOptions, type NativeModel } from './native-engine.ts';
import { logSumExp } from './sampling/sampler.ts';
import { MotifTokenizer } from './text/tokenizer.ts';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/tiny-motif/', import.meta.url));
interface Case {
  name: string;
  input_ids: number[];
  last_logits: number[];
  top5_ids: number[];
  greedy_new_ids: number[];
}
const expected = JSON.parse(readFileSync(`${FIXTURE}expected.json`, 'utf8')) as {
  cases: Case[];
  chat: { messages: { role: string; content: string }[]; ids: number[]; greedy_new_ids: number[] };
};
const greedy: SamplingParams = { ...DEFAULT_SAMPLING, temperature: 0 };

function request(prompt: GenerateRequest['prompt'], extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { requestId: 'r', prompt, maxTokens: 12, sampling: greedy, stop: [], ...extra };
}

async function collect(engine: NativeEngine, req: GenerateRequest, signal = new AbortController().signal) {
  const events: EngineEvent[] = [];
  for await (const e of engine.generate(req, signal)) events.push(e);
  const deltas = events.filter((e) => e.type === 'delta');
  const finish = events.at(-1);
  if (finish?.type !== 'finish') throw new Error('no finish event');
  return { events, ids: deltas.flatMap((d) => d.tokenIds), text: deltas.map((d) => d.text).join(''), finish, deltas };
}

function engineWith(opts: Partial<NativeEngineOptions> = {}): NativeEngine {
  return new NativeEngine({ modelDir: FIXTURE, modelId: 'tiny-motif', maxRunning: 4, ...opts }, nodeEngineLoaders());
}

describe('NativeEngine on the tiny-motif fixture', () => {
  const engine = engineWith();
  beforeAll(() => engine.load());
  afterAll(() => engine.close());

  it('reports its info after load', () => {
    // 127 tokens of at most 16 bytes each (the longest token's); the ChatML template keeps contents whole.
    const maxPromptBytes = { prompt: 127 * 16, messages: 127 * 16 };
    expect(engine.info()).toEqual({ backend: 'native', model: 'tiny-motif', revision: 'local', maxContextTokens: 128, maxPromptBytes });
  });

  it('refuses by the bound it advertises: one byte over untokenized; at the bound a text prompt is tokenized', async () => {
    const bound = engine.info().maxPromptBytes!;
    const encode = vi.spyOn(MotifTokenizer.prototype, 'encode');
    try {
      for (const prompt of [
        { kind: 'text' as const, text: 'x'.repeat(bound.prompt! + 1) },
        { kind: 'chat' as const, messages: [{ role: 'user', content: 'x'.repeat(bound.messages! + 1) }] },
      ]) {
        const err = await collect(engine, request(prompt)).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'context_length_exceeded', message: expect.stringContaining('holds at least') });
      }
      expect(encode).not.toHaveBeenCalled();
      // At the bound its size proves nothing: it is tokenized (and then too long by its tokens).
      const at = await collect(engine, request({ kind: 'text', text: 'x'.repeat(bound.prompt!) })).catch((e: unknown) => e);
      expect(at).toMatchObject({ code: 'context_length_exceeded', message: expect.stringContaining('but the prompt has') });
      expect(encode).toHaveBeenCalled();
    } finally {
      encode.mockRestore();
    }
  });

  it('4 concurrent requests each get exactly the golden greedy ids, with exact usage', async () => {
    const runs = await Promise.all(expected.cases.map((c) => collect(engine, request({ kind: 'ids', ids: c.input_ids }))));
    runs.forEach((r, i) => {
      const c = expected.cases[i]!;
      expect(r.ids, c.name).toEqual(c.greedy_new_ids);
      expect(r.events[0]).toEqual({ type: 'start', promptTokens: c.input_ids.length, cachedTokens: 0 });
      expect(r.finish).toEqual({ type: 'finish', reason: 'length', usage: { promptTokens: c.input_ids.length, completionTokens: 12, cachedTokens: 0 } });
    });
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvUsage: 0 });
  });

  it('renders, tokenizes and continues the golden chat prompt', async () => {
    const r = await collect(engine, request({ kind: 'chat', messages: expected.chat.messages }, { ignoreEos: true }));
    expect(r.finish.type === 'finish' && r.finish.usage.promptTokens).toBe(expected.chat.ids.length);
    expect(r.ids).toEqual(expected.chat.greedy_new_ids);
  });

  it('returns OpenAI-style logprobs of the raw distribution', async () => {
    const c = expected.cases[0]!;
    const r = await collect(engine, request({ kind: 'ids', ids: c.input_ids }, { maxTokens: 1, topLogprobs: 5 }));
    const lp = r.deltas[0]!.logprobs![0]!;
    const lse = logSumExp(Float32Array.from(c.last_logits));
    expect(lp.top.map((t) => t.logprob)).toEqual(c.top5_ids.map((id) => expect.closeTo(c.last_logits[id]! - lse, 3)));
    expect(lp.logprob).toBeCloseTo(c.last_logits[c.greedy_new_ids[0]!]! - lse, 3);
    expect(lp.bytes.length).toBeGreaterThan(0);
  });

  it('cuts at a stop string spanning tokens and reports finish stop', async () => {
    const c = expected.cases[0]!;
    const full = await collect(engine, request({ kind: 'ids', ids: c.input_ids }));
    const stop = full.text.slice(5, 9);
    const r = await collect(engine, request({ kind: 'ids', ids: c.input_ids }, { stop: [stop] }));
    expect(r.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(r.finish).toMatchObject({ reason: 'stop' });
    expect(r.finish.type === 'finish' && r.finish.usage.completionTokens).toBe(r.ids.length);
  });

  it('is deterministic for a seed when sampling', async () => {
    const ids = expected.cases[1]!.input_ids;
    const run = (seed: number) => collect(engine, request({ kind: 'ids', ids }, { sampling: { ...DEFAULT_SAMPLING, temperature: 1, seed } }));
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(a.ids).toEqual(b.ids);
    expect(a.ids).not.toEqual(c.ids);
    // Also when it shares its batch steps with other requests.
    const [d] = await Promise.all([run(7), run(9), collect(engine, request({ kind: 'ids', ids: expected.cases[3]!.input_ids }))]);
    expect(d.ids).toEqual(a.ids);
  });

  it('refuses a megabyte prompt by its size alone, without tokenizing it', async () => {
    const encode = vi.spyOn(MotifTokenizer.prototype, 'encode');
    try {
      const huge = 'All work and no play makes Motif a dull model. '.repeat(40_000); // 1.9 MB
      for (const prompt of [
        { kind: 'text' as const, text: huge },
        { kind: 'chat' as const, messages: [{ role: 'user', content: huge }] },
      ]) {
        const err = await collect(engine, request(prompt)).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'context_length_exceeded', param: prompt.kind === 'text' ? 'prompt' : 'messages' });
      }
      expect(encode).not.toHaveBeenCalled();
    } finally {
      encode.mockRestore();
    }
  });

  it('rejects prompts that leave no room in the context', async () => {
    const err = await collect(engine, request({ kind: 'ids', ids: new Array(128).fill(5) })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('context_length_exceeded');
    const bad = await collect(engine, request({ kind: 'ids', ids: [1, 999] })).catch((e: unknown) => e);
    expect((bad as ApiError).code).toBe('invalid_request_error');
  });
});

describe('NativeEngine with a tokenizer whose prompt size proves nothing', () => {
  // A normalizer may rewrite text before it is tokenized, so no byte count bounds the token count:
  // a long prompt has to be tokenized to be judged, and that must not stall other requests.
  const dir = mkdtempSync(join(tmpdir(), 'native-engine-normalizer-'));
  cpSync(FIXTURE, dir, { recursive: true });
  const tokenizerJson = JSON.parse(readFileSync(join(FIXTURE, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ ...tokenizerJson, normalizer: { type: 'NFC' } }));
  const engine = new NativeEngine({ modelDir: dir, modelId: 'tiny-motif', maxRunning: 4 }, nodeEngineLoaders());
  beforeAll(() => engine.load());
  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('advertises no prompt bound', () => {
    expect(engine.info().maxPromptBytes).toEqual({});
  });

  it('tokenizes a long prompt off the event loop while another request streams, then refuses it by its tokens', async () => {
    const huge = 'All work and no play makes Motif a dull model. '.repeat(15_000); // 700 kB: ~1 s to tokenize
    const ticks: number[] = [];
    const other = (async () => {
      for await (const e of engine.generate(
        request({ kind: 'ids', ids: expected.cases[0]!.input_ids }, { maxTokens: 100, ignoreEos: true }),
        new AbortController().signal,
      )) {
        if (e.type === 'delta') ticks.push(performance.now());
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    const err = await collect(engine, request({ kind: 'chat', messages: [{ role: 'user', content: huge }] })).catch((e: unknown) => e);
    const tokenizeMs = performance.now() - t0;
    await other;
    expect(err).toMatchObject({ code: 'context_length_exceeded', param: 'messages', message: expect.stringContaining('but the prompt has') });
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!);
    // Inline, the whole tokenization is one gap in the other stream.
    expect(tokenizeMs).toBeGreaterThan(300);
    expect(Math.max(...gaps)).toBeLessThan(Math.min(150, tokenizeMs / 3));
  });
});

/** A stand-in model whose next token is always (last id + 1) mod 384, to steer into eos. */
function successorModel(): NativeModel {
  const V = 384;
  return {
    config: { vocab_size: V, max_position_embeddings: 128 },
    eosTokenIds: [383, 381],
    createCache: (capacity) => {
      let length = 0;
      // Output depends on the last id only, so its "KV" has no content to share.
      return {
        capacity,
        blockTokens: 16,
        get length() {
          return length;
        },
        truncate: (n: number) => void (length = n),
        grow: (k: number) => (length += k),
        shareBlock: () => ({}),
        adoptBlocks: (blocks: readonly object[]) => void (length = blocks.length * 16),
      };
    },
    forward: async (batch) =>
      batch.map((e) => {
        (e.cache as unknown as { grow(k: number): void }).grow(e.ids.length);
        const row = new Float32Array(V);
        row[(e.ids.at(-1)! + 1) % V] = 10;
        return row;
      }),
  };
}

describe('NativeEngine end conditions', () => {
  const engine = new NativeEngine({ modelDir: FIXTURE, modelId: 'succ' }, { ...nodeEngineLoaders(), loadModel: async () => successorModel() });
  beforeAll(() => engine.load());
  afterAll(() => engine.close());

  it('an eos id ends the sequence with stop; eos is billed but has no text', async () => {
    // 378 → 379 → 380 → 381 = <|endoftext|>, an eos id from generation_config.
    const r = await collect(engine, request({ kind: 'ids', ids: [378] }, { maxTokens: 10 }));
    expect(r.ids).toEqual([379, 380]);
    expect(r.finish).toEqual({ type: 'finish', reason: 'stop', usage: { promptTokens: 1, completionTokens: 3, cachedTokens: 0 } });
  });

  it('ignoreEos keeps going to the token budget; special tokens never become text', async () => {
    const r = await collect(engine, request({ kind: 'ids', ids: [379] }, { maxTokens: 6, ignoreEos: true }));
    expect(r.ids).toEqual([380, 381, 382, 383, 0, 1]);
    expect(r.text).not.toContain('<|');
    expect(r.text.endsWith('!"')).toBe(true); // ids 0 and 1 are '!' and '"' in GPT-2 byte order
    expect(r.finish).toMatchObject({ reason: 'length', usage: { completionTokens: 6 } });
  });

  it('a max_tokens beyond the context is capped and ends with length at the limit', async () => {
    const r = await collect(engine, request({ kind: 'ids', ids: new Array(120).fill(10) }, { maxTokens: 1000, ignoreEos: true }));
    expect(r.ids).toHaveLength(8);
    expect(r.finish).toMatchObject({ reason: 'length' });
  });

  it('chat requests fail clearly when the model has no template; completions still work', async () => {
    const { loadTokenizerDir } = await import('../../adapters/node/engine/tokenizer-files.ts');
    const bare = new NativeEngine(
      { modelDir: FIXTURE, modelId: 'bare' },
      { loadModel: async () => successorModel(), loadTokenizer: async (dir) => ({ ...(await loadTokenizerDir(dir)), chatTemplate: undefined }) },
    );
    await bare.load();
    const err = await collect(bare, request({ kind: 'chat', messages: [{ role: 'user', content: 'hi' }] })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_request_error', param: 'messages' });
    expect((await collect(bare, request({ kind: 'text', text: 'hi' }, { maxTokens: 2 }))).ids).toHaveLength(2);
    await bare.close();
  });
});

describe('NativeEngine admission and abort', () => {
  it('fails bad options at construction', () => {
    expect(() => engineWith({ maxRunning: 0 })).toThrow(ApiError);
    expect(() => new NativeEngine({ modelDir: FIXTURE } as NativeEngineOptions)).toThrow(/modelId/);
    expect(() => engineWith({ weightsQuant: 'q4' as 'q8' })).toThrow(/weightsQuant/);
  });

  it('hands weightsQuant to the model loader, which serves the Q8_0 model', async () => {
    const loaders = nodeEngineLoaders();
    const asked: string[] = [];
    const lines: string[] = [];
    const engine = new NativeEngine(
      { modelDir: FIXTURE, modelId: 'tiny-motif', weightsQuant: 'q8' },
      {
        ...loaders,
        log: (line) => lines.push(line),
        loadModel: (dir, o) => {
          asked.push(o.weightsQuant);
          return loaders.loadModel(dir, o);
        },
      },
    );
    await engine.load();
    const r = await collect(engine, request({ kind: 'ids', ids: expected.cases[1]!.input_ids }));
    expect(asked).toEqual(['q8']);
    // Another revision downstream: the edge's cache must not mix its answers with the checkpoint's.
    expect(engine.info().revision).toBe('local+q8');
    expect(lines).toContain('weights: linear layers quantised to Q8_0 at load (MOTIF_WEIGHTS_QUANT=q8)');
    expect(r.ids).toHaveLength(12);
    await engine.close();
  });

  it('abort frees the slot within a step, ends with finish abort and exact usage', async () => {
    const engine = engineWith({ maxRunning: 1, maxQueue: 1 });
    await engine.load();
    const ctrl = new AbortController();
    const ids = expected.cases[1]!.input_ids;
    const seen: number[] = [];
    let finish: EngineEvent | undefined;
    const waiter = collect(engine, request({ kind: 'ids', ids: expected.cases[0]!.input_ids }));
    for await (const e of engine.generate(request({ kind: 'ids', ids }, { maxTokens: 100 }), ctrl.signal)) {
      if (e.type === 'delta') {
        seen.push(...e.tokenIds);
        if (seen.length === 3) ctrl.abort();
      }
      if (e.type === 'finish') finish = e;
    }
    expect(finish).toEqual({ type: 'finish', reason: 'abort', usage: { promptTokens: ids.length, completionTokens: seen.length, cachedTokens: 0 } });
    expect(seen.length).toBeLessThanOrEqual(4);
    // The waiting request got the slot and runs to completion.
    expect((await waiter).ids).toEqual(expected.cases[0]!.greedy_new_ids);
    await engine.close();
  });

  it('a small KV budget makes requests wait for KV blocks (start comes on admission); overflow is overloaded', async () => {
    const engine = engineWith({ maxRunning: 4, kvBudgetTokens: 48, maxQueue: 1 }); // 3 blocks of 16
    await engine.load();
    const [a, b] = [expected.cases[2]!, expected.cases[1]!]; // 19 + 12 and 7 + 12 tokens: 2 blocks each
    const log: string[] = [];
    const run = async (name: string, c: Case) => {
      const ids: number[] = [];
      for await (const e of engine.generate(request({ kind: 'ids', ids: c.input_ids }), new AbortController().signal)) {
        if (e.type !== 'delta') log.push(`${name}:${e.type}`);
        else ids.push(...e.tokenIds);
      }
      return ids;
    };
    const runs = [run('a', a), run('b', b)];
    await new Promise((r) => setImmediate(r));
    expect(engine.stats()).toMatchObject({ running: 1, waiting: 1 }); // 4 slots, but only 3 KV blocks
    expect(log).not.toContain('b:start'); // not admitted yet, so not started
    const err = await collect(engine, request({ kind: 'ids', ids: [1, 2, 3] })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'overloaded' });
    expect((err as ApiError).retryAfter).toBeGreaterThanOrEqual(1);
    expect(await Promise.all(runs)).toEqual([a.greedy_new_ids, b.greedy_new_ids]);
    expect(log.sort()).toEqual(['a:finish', 'a:start', 'b:finish', 'b:start']);
    expect(engine.info().maxContextTokens).toBe(48);
    const tooLong = await collect(engine, request({ kind: 'ids', ids: new Array(48).fill(5) })).catch((e: unknown) => e);
    expect(tooLong).toMatchObject({ code: 'context_length_exceeded' });
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvUsage: 0 });
    await engine.close();
  });

  it('overflow beyond the queue is overloaded with retryAfter; breaking out of the loop aborts', async () => {
    const engine = engineWith({ maxRunning: 1, maxQueue: 0 });
    await engine.load();
    const first = engine.generate(request({ kind: 'ids', ids: [1, 2, 3] }, { maxTokens: 50 }), new AbortController().signal)[Symbol.asyncIterator]();
    expect((await first.next()).value).toMatchObject({ type: 'start' });
    const err = await collect(engine, request({ kind: 'ids', ids: [4] })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'overloaded' });
    expect((err as ApiError).retryAfter).toBeGreaterThanOrEqual(1);
    await first.return!(undefined);
    // The consumer left: the slot is free again for the next request.
    const next = await collect(engine, request({ kind: 'ids', ids: [4] }, { maxTokens: 2 }));
    expect(next.ids).toHaveLength(2);
    await engine.drain();
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0 });
    await engine.close();
    expect(await collect(engine, request({ kind: 'ids', ids: [4] })).catch((e: unknown) => e)).toMatchObject({ code: 'engine_unavailable' });
  });
});
