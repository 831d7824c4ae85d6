import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { nodeEngineLoaders } from '../../adapters/node/engine/engine-loaders.ts';
import { DEFAULT_SAMPLING, type EngineEvent, type GenerateRequest } from '../types.ts';
import { NativeEngine } from './native-engine.ts';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/tiny-motif/', import.meta.url));
const ajv = new Ajv({ strict: false });

const strict = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false });
const SCHEMAS: Record<string, Record<string, unknown>> = {
  flat: strict({ name: { type: 'string', maxLength: 6 }, ok: { type: 'boolean' } }),
  bounded: strict({ n: { type: 'integer', minimum: -20, maximum: 300 }, x: { type: 'number', minimum: 0, maximum: 2 } }),
  nested: strict({
    user: strict({ id: { type: 'integer', minimum: 1, maximum: 9 }, role: { enum: ['admin', 'guest'] } }),
    note: { type: ['string', 'null'], maxLength: 4 },
  }),
  arrays: strict({ tags: { type: 'array', items: { type: 'string', maxLength: 3 }, minItems: 1, maxItems: 3 } }),
  refs: { ...strict({ a: { $ref: '#/$defs/p' }, b: { anyOf: [{ $ref: '#/$defs/p' }, { type: 'null' }] } }), $defs: { p: strict({ v: { const: 'x' } }) } },
};

async function run(engine: NativeEngine, req: GenerateRequest) {
  const events: EngineEvent[] = [];
  for await (const e of engine.generate(req, new AbortController().signal)) events.push(e);
  const finish = events.at(-1);
  if (finish?.type !== 'finish') throw new Error('no finish event');
  const text = events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
  return { text, reason: finish.reason, completionTokens: finish.usage.completionTokens };
}

function request(schema: Record<string, unknown> | undefined, seed: number, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    requestId: `r${seed}`,
    prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Reply in JSON.' }] },
    maxTokens: 100,
    sampling: { ...DEFAULT_SAMPLING, temperature: 1, seed },
    stop: [],
    ...(schema ? { responseFormat: { type: 'json_schema', schema } } : {}),
    ...extra,
  };
}

describe('structured output on the random-weight tiny model', () => {
  const engine = new NativeEngine({ modelDir: FIXTURE, modelId: 'tiny-motif', maxRunning: 8 }, nodeEngineLoaders());
  beforeAll(() => engine.load());
  afterAll(() => engine.close());

  it.each(Object.keys(SCHEMAS))('%s: every seed gives valid JSON and finish_reason stop', async (name) => {
    const schema = SCHEMAS[name]!;
    const validate = ajv.compile(schema);
    for (const seed of [1, 2, 3]) {
      const { text, reason } = await run(engine, request(schema, seed));
      expect(reason, text).toBe('stop');
      expect(validate(JSON.parse(text)), `${text} ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });

  it('runs sequences with different formats in one batch, each under its own state', async () => {
    const names = Object.keys(SCHEMAS);
    const results = await Promise.all(names.map((name, i) => run(engine, request(SCHEMAS[name], 10 + i))));
    results.forEach(({ text, reason }, i) => {
      expect(reason).toBe('stop');
      expect(ajv.validate(SCHEMAS[names[i]!]!, JSON.parse(text)), text).toBe(true);
    });
  });

  it('ends with length when max_tokens cuts the document, the text a valid prefix', async () => {
    const { text, reason, completionTokens } = await run(engine, request(SCHEMAS.nested, 5, { maxTokens: 3 }));
    expect([reason, completionTokens]).toEqual(['length', 3]);
    expect(text.startsWith('{"')).toBe(true);
  });

  it('json_object gives an object (or a prefix of one when cut)', async () => {
    const { text, reason } = await run(engine, request(undefined, 7, { responseFormat: { type: 'json_object' }, maxTokens: 40 }));
    expect(text.startsWith('{')).toBe(true);
    if (reason === 'stop') expect(typeof JSON.parse(text)).toBe('object');
  });

  it('stops at the end of the document even with ignore_eos', async () => {
    const { text, reason } = await run(engine, request(SCHEMAS.flat, 4, { ignoreEos: true }));
    expect(reason).toBe('stop');
    expect(ajv.validate(SCHEMAS.flat!, JSON.parse(text))).toBe(true);
  });

  it('leaves unconstrained generation as it was: same seed, same text with or without other formats running', async () => {
    const plain = await run(engine, request(undefined, 9, { maxTokens: 20 }));
    const [again] = await Promise.all([run(engine, request(undefined, 9, { maxTokens: 20 })), run(engine, request(SCHEMAS.arrays, 9))]);
    expect(again!.text).toBe(plain.text);
  });

  it('lists only tokens the schema allows among the top logprobs, all finite', async () => {
    const events: EngineEvent[] = [];
    for await (const e of engine.generate(request(SCHEMAS.flat, 3, { topLogprobs: 5 }), new AbortController().signal)) events.push(e);
    const logprobs = events.flatMap((e) => (e.type === 'delta' ? (e.logprobs ?? []) : []));
    expect(logprobs.length).toBeGreaterThan(5);
    // The first token is forced ('{' or a longer token starting the object): it alone is listed.
    expect(logprobs[0]!.top).toHaveLength(1);
    for (const lp of logprobs) for (const t of [lp, ...lp.top]) expect(Number.isFinite(t.logprob)).toBe(true);
  });

  it('refuses a schema outside the subset with a 400 naming response_format', async () => {
    const bad = request({ type: 'string', pattern: 'a+' }, 1);
    await expect(run(engine, bad)).rejects.toMatchObject({ status: 400, param: 'response_format', message: expect.stringMatching(/'pattern'/) });
    await expect(run(engine, bad)).rejects.toBeInstanceOf(ApiError);
  });
});
