/**
 * The Responses API end to end: the official `openai` SDK's `responses.create` (plain and
 * streamed) and `responses.stream` → edge (translated onto chat) → origin (native engine on the
 * random-weight tiny model), with `text.format` json_schema checked by an independent validator
 * and every generation metered in /v1/usage like a chat completion.
 */
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
let client: OpenAI;
/** Output tokens of every generation this file asked for, to find them again in /v1/usage. */
const generated: number[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  client = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.dispose();
});

const schema = {
  type: 'object',
  properties: { name: { type: 'string', minLength: 1, maxLength: 6 }, age: { type: 'integer', minimum: 0, maximum: 120 } },
  required: ['name', 'age'],
  additionalProperties: false,
};

describe('the Responses API through the edge with the openai SDK', () => {
  it('responses.create answers a completed response with output_text and usage', async () => {
    const res = await client.responses.create({ model: stack.model, instructions: 'Be brief.', input: 'Hello there', max_output_tokens: 8 });
    expect(res.object).toBe('response');
    expect(res.id).toMatch(/^resp_/);
    expect(['completed', 'incomplete']).toContain(res.status);
    if (res.status === 'incomplete') expect(res.incomplete_details?.reason).toBe('max_output_tokens');
    expect(res.output_text.length).toBeGreaterThan(0);
    expect(res.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number), output_tokens_details: { reasoning_tokens: 0 } });
    expect(res.usage!.total_tokens).toBe(res.usage!.input_tokens + res.usage!.output_tokens);
    generated.push(res.usage!.output_tokens);
  });

  it('a stream sends the Responses events in order and ends with the final response', async () => {
    const stream = await client.responses.create({
      model: stack.model,
      input: [{ role: 'user', content: 'Count to three' }],
      max_output_tokens: 8,
      stream: true,
    });
    const types: string[] = [];
    const sequence: number[] = [];
    let text = '';
    let final: OpenAI.Responses.Response | undefined;
    for await (const ev of stream) {
      types.push(ev.type);
      sequence.push(ev.sequence_number);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed' || ev.type === 'response.incomplete') final = ev.response;
    }
    const deltas = types.filter((t) => t === 'response.output_text.delta').length;
    expect(deltas).toBeGreaterThan(0);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array(deltas).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      final?.status === 'completed' ? 'response.completed' : 'response.incomplete',
    ]);
    expect(sequence).toEqual(sequence.map((_, i) => i));
    expect(final?.output[0]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text }] });
    expect(final?.usage?.output_tokens).toBeGreaterThan(0);
    generated.push(final!.usage!.output_tokens);
  });

  it('text.format json_schema returns JSON the schema validates (through the stream helper)', async () => {
    const res = await client.responses
      .stream({ model: stack.model, input: 'A user, as JSON.', text: { format: { type: 'json_schema', name: 'user', schema, strict: true } } })
      .finalResponse();
    expect(res.status).toBe('completed');
    const ajv = new Ajv({ strict: false });
    expect(ajv.validate(schema, JSON.parse(res.output_text)), res.output_text).toBe(true);
    generated.push(res.usage!.output_tokens);
  });

  it('a parameter it cannot honour is a 400 naming it', async () => {
    const err = await client.responses.create({ model: stack.model, input: 'x', previous_response_id: 'resp_abc' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('previous_response_id');
  });

  it('every generation is metered and shows in /v1/usage', async () => {
    expect(generated).toHaveLength(3);
    const want = generated.reduce((a, b) => a + b, 0);
    let totals = { requests: 0, completion_tokens: 0 };
    // Origins deliver usage records in batches (~0.1 s).
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && totals.requests < generated.length; ) {
      await new Promise((r) => setTimeout(r, 250));
      const res = await fetch(`${stack.edgeUrl}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
      const body = (await res.json()) as { data: { requests: number; completion_tokens: number }[] };
      totals = body.data.reduce((a, r) => ({ requests: a.requests + r.requests, completion_tokens: a.completion_tokens + r.completion_tokens }), {
        requests: 0,
        completion_tokens: 0,
      });
    }
    expect(totals).toEqual({ requests: generated.length, completion_tokens: want });
  });
});
