/**
 * Structured output end to end: the official `openai` SDK → edge → origin (native engine on the
 * random-weight tiny model). Random weights know nothing of JSON, so every valid document here is
 * the constrained decoder's doing; each one is checked by an independent validator (ajv).
 */
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
let client: OpenAI;
const ajv = new Ajv({ strict: false });

beforeAll(async () => {
  stack = await startTestStack();
  client = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.dispose();
});

const strict = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false });
/** Small enough to finish inside the tiny model's 128-token context (its tokens are mostly single bytes). */
const SCHEMAS: Record<string, Record<string, unknown>> = {
  user: strict({ name: { type: 'string', minLength: 1, maxLength: 6 }, age: { type: 'integer', minimum: 0, maximum: 120 } }),
  nested: strict({ item: strict({ id: { type: 'integer', minimum: 1, maximum: 99 }, kind: { enum: ['book', 'pen'] } }), ok: { type: 'boolean' } }),
  list: strict({ tags: { type: 'array', items: { type: 'string', maxLength: 3 }, minItems: 1, maxItems: 3 } }),
  choice: strict({
    v: { anyOf: [{ type: 'integer', minimum: -9, maximum: 9 }, { type: 'null' }, { enum: ['x', 'y'] }] },
    p: { type: 'number', minimum: 0, maximum: 1 },
  }),
  refs: { ...strict({ a: { $ref: '#/$defs/pt' }, b: { $ref: '#/$defs/pt' } }), $defs: { pt: strict({ x: { type: 'integer', minimum: 0, maximum: 9 } }) } },
};
const CASES = Object.entries(SCHEMAS).flatMap(([name, schema]) => [1, 2, 3, 4].map((seed) => ({ name, schema, seed })));

describe('structured output through the edge with the openai SDK', () => {
  it(`${CASES.length} json_schema requests (strict) all return valid JSON with finish_reason stop`, async () => {
    expect(CASES).toHaveLength(20);
    const results = await Promise.all(
      CASES.map(({ name, schema, seed }) =>
        client.chat.completions.create({
          model: stack.model,
          messages: [{ role: 'user', content: `Describe a ${name} as JSON.` }],
          response_format: { type: 'json_schema', json_schema: { name, schema, strict: true } },
          temperature: 1,
          seed,
        }),
      ),
    );
    results.forEach((res, i) => {
      const { name, schema } = CASES[i]!;
      const choice = res.choices[0]!;
      const text = choice.message.content ?? '';
      expect(choice.finish_reason, `${name}: ${text}`).toBe('stop');
      const validate = ajv.compile(schema);
      expect(validate(JSON.parse(text)), `${name}: ${text} ${ajv.errorsText(validate.errors)}`).toBe(true);
    });
  });

  it('streams a json_schema response whose chunks join into valid JSON', async () => {
    const stream = await client.chat.completions.create({
      model: stack.model,
      messages: [{ role: 'user', content: 'JSON please' }],
      response_format: { type: 'json_schema', json_schema: { name: 'user', schema: SCHEMAS.user!, strict: true } },
      seed: 11,
      stream: true,
    });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('stop');
    expect(ajv.validate(SCHEMAS.user!, JSON.parse(text)), text).toBe(true);
  });

  it('/v1/completions takes response_format too', async () => {
    const params: OpenAI.CompletionCreateParamsNonStreaming & { response_format: unknown } = {
      model: stack.model,
      prompt: 'A record:',
      seed: 2,
      response_format: { type: 'json_schema', json_schema: { name: 'list', schema: SCHEMAS.list! } },
    };
    const res = await client.completions.create(params);
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(ajv.validate(SCHEMAS.list!, JSON.parse(res.choices[0]!.text)), res.choices[0]!.text).toBe(true);
  });

  it('chat.completions.parse with a zod schema returns the parsed object', async () => {
    const Pet = z.object({ name: z.string().max(5), legs: z.number().int().min(0).max(8), kind: z.enum(['cat', 'dog']) });
    const res = await client.chat.completions.parse({
      model: stack.model,
      messages: [{ role: 'user', content: 'A pet, please.' }],
      response_format: zodResponseFormat(Pet, 'pet'),
      seed: 5,
    });
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe('stop');
    expect(Pet.parse(choice.message.parsed)).toEqual(choice.message.parsed);
  });

  it('a schema outside the subset is a 400 naming response_format and the keyword', async () => {
    const err = await client.chat.completions
      .create({
        model: stack.model,
        messages: [{ role: 'user', content: 'x' }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'bad', schema: { type: 'object', properties: { d: { type: 'string', pattern: '^[a-z]+$' } } } },
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('response_format.json_schema.schema');
    expect((err as Error).message).toMatch(/'pattern' is not supported/);
  });
});
