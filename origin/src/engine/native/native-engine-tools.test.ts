import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoCallSchema, type FunctionTool } from '#shared/openai-tools.ts';
import { nodeEngineLoaders } from '../../adapters/node/engine/engine-loaders.ts';
import { DEFAULT_SAMPLING, type EngineEvent, type GenerateRequest } from '../types.ts';
import type { SequenceCache } from './batching/scheduler.ts';
import { NativeEngine, type NativeModel } from './native-engine.ts';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/tiny-motif/', import.meta.url));
/** `<tool_call>` in the tiny model's vocabulary: < t o o l _ c al l >. */
const TAG_IDS = [27, 83, 78, 78, 75, 62, 66, 301, 75, 29];
const NUDGE = 40;

/**
 * The random-weight tiny model, nudged towards writing `<tool_call>` over and over: each step adds
 * NUDGE to the logit of the tag's next token, so a sequence opens a block at once; what follows the
 * tag is the model's own (random) choice, or the grammar's.
 */
function nudged(model: NativeModel): NativeModel {
  const matched = new Map<SequenceCache, number>();
  return {
    config: model.config,
    eosTokenIds: model.eosTokenIds,
    createCache: (capacity) => model.createCache(capacity),
    async forward(batch) {
      const rows = await model.forward(batch);
      batch.forEach(({ cache, ids }, i) => {
        const last = ids.at(-1)!;
        const k = ids.length > 1 ? 0 : (matched.get(cache) ?? 0);
        const next = last === TAG_IDS[k] ? (k + 1) % TAG_IDS.length : last === TAG_IDS[0] ? 1 : 0;
        matched.set(cache, next);
        rows[i]![TAG_IDS[next]!]! += NUDGE;
      });
      return rows;
    },
  };
}

const parameters = {
  type: 'object',
  properties: { c: { type: 'string', maxLength: 3 }, d: { type: 'integer', minimum: 1, maximum: 7 } },
  required: ['c', 'd'],
  additionalProperties: false,
};
const tool = (strict: boolean): FunctionTool => ({ type: 'function', function: { name: 'w', parameters, strict } });
const validCall = new Ajv({ strict: false }).compile(autoCallSchema({ tools: [tool(true)], choice: 'auto', parallel: true })!);

/** The inner text of each complete `<tool_call>` block, as the server reads it. */
const blocks = (text: string) => [...text.matchAll(/<tool_call>([\s\S]*?)<\/tool_call>/g)].map((m) => m[1]!.trim());
const isValidCall = (inner: string) => {
  try {
    return validCall(JSON.parse(inner));
  } catch {
    return false;
  }
};

describe('tool_choice auto with a strict function on the nudged tiny model', () => {
  const loaders = nodeEngineLoaders();
  const engine = new NativeEngine(
    { modelDir: FIXTURE, modelId: 'tiny-motif' },
    { ...loaders, loadModel: async (dir, opts) => nudged(await loaders.loadModel(dir, opts)) },
  );
  beforeAll(() => engine.load());
  afterAll(() => engine.close());

  const run = async (strict: boolean, seed: number) => {
    const req: GenerateRequest = {
      requestId: `t${seed}`,
      // A text prompt keeps the tools' system block out of the tiny model's 128-token context.
      prompt: { kind: 'text', text: 'Call w.' },
      maxTokens: 110,
      sampling: { ...DEFAULT_SAMPLING, temperature: 1, seed },
      stop: [],
      tools: { tools: [tool(strict)], choice: 'auto', parallel: true },
    };
    const events: EngineEvent[] = [];
    for await (const e of engine.generate(req, new AbortController().signal)) events.push(e);
    return events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
  };

  it.each([1, 2, 3])('seed %i: every <tool_call> block written is a call whose arguments validate', async (seed) => {
    const text = await run(true, seed);
    const written = blocks(text);
    expect(written.length, text).toBeGreaterThan(0);
    for (const inner of written) expect(isValidCall(inner), `${inner} in ${text}`).toBe(true);
  });

  it('without strict the same nudged model writes blocks that are no valid call (nothing constrains them)', async () => {
    const texts = await Promise.all([1, 2, 3].map((seed) => run(false, seed)));
    const calls = texts.flatMap(blocks);
    expect(texts.every((t) => t.startsWith('<tool_call>'))).toBe(true);
    expect(calls.filter(isValidCall)).toHaveLength(0);
  });
});

describe('ignore_eos with a strict function under auto', () => {
  const loaders = nodeEngineLoaders();
  // Eos is the likeliest token at every step: it is allowed in free text only.
  const towardsEos = (model: NativeModel): NativeModel => ({
    config: model.config,
    eosTokenIds: model.eosTokenIds,
    createCache: (capacity) => model.createCache(capacity),
    async forward(batch) {
      const rows = await model.forward(batch);
      for (const row of rows) for (const id of model.eosTokenIds) row[id]! += NUDGE;
      return rows;
    },
  });
  const engine = new NativeEngine(
    { modelDir: FIXTURE, modelId: 'tiny-motif' },
    { ...loaders, loadModel: async (dir, opts) => towardsEos(await loaders.loadModel(dir, opts)) },
  );
  beforeAll(() => engine.load());
  afterAll(() => engine.close());

  it.each([
    [false, 'stop', 1],
    [true, 'length', 8],
  ])('ignoreEos %s: the free text ends with %s after %i tokens, as without tools', async (ignoreEos, reason, tokens) => {
    const req: GenerateRequest = {
      requestId: 'e',
      prompt: { kind: 'text', text: 'Hi.' },
      maxTokens: 8,
      sampling: { ...DEFAULT_SAMPLING, seed: 1 },
      stop: [],
      ignoreEos,
      tools: { tools: [tool(true)], choice: 'auto', parallel: true },
    };
    const events: EngineEvent[] = [];
    for await (const e of engine.generate(req, new AbortController().signal)) events.push(e);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason, usage: { completionTokens: tokens } });
  });
});
