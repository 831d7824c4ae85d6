/**
 * The Responses API end to end: the official `openai` SDK's `responses.create` (plain and
 * streamed) and `responses.stream` → edge (translated onto chat) → origin (native engine on the
 * random-weight tiny model), with `text.format` json_schema and function-call arguments checked
 * by an independent validator, the agent loop (a call, its output sent back, the next turn; or
 * only the output, after `previous_response_id`), stored responses read back and deleted, and
 * every generation metered in /v1/usage like a chat completion.
 */
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import type { ParsedResponseFunctionToolCall } from 'openai/resources/responses/responses';
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

const WEATHER = {
  type: 'object',
  properties: { city: { type: 'string', minLength: 1, maxLength: 8 }, unit: { enum: ['c', 'f'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const TIME = { type: 'object', properties: { tz: { type: 'string', maxLength: 5 } }, required: ['tz'], additionalProperties: false };
const TOOLS: OpenAI.Responses.FunctionTool[] = [
  { type: 'function', name: 'get_weather', description: 'Weather for a city.', parameters: WEATHER, strict: true },
  { type: 'function', name: 'get_time', description: 'Local time.', parameters: TIME, strict: null },
];
const PARAMS: Record<string, object> = { get_weather: WEATHER, get_time: TIME };
/** The first turn of an agent loop: one forced call. */
const ASK_WEATHER = () => ({ model: stack.model, input: 'Weather in Oslo?', tools: TOOLS, tool_choice: 'required' as const, parallel_tool_calls: false });
const ajv = new Ajv({ strict: false });

/** The output's function calls: at least one, each of an offered function (`only`, when named) with arguments its schema validates. */
function expectValidCalls(output: OpenAI.Responses.ResponseOutputItem[], only?: string): OpenAI.Responses.ResponseFunctionToolCall[] {
  const calls = output.filter((item) => item.type === 'function_call');
  expect(calls.length).toBeGreaterThan(0);
  for (const call of calls) {
    expect(call).toMatchObject({ status: 'completed', call_id: expect.stringMatching(/^call_/), id: expect.stringMatching(/^fc_/) });
    if (only) expect(call.name).toBe(only);
    const validate = ajv.compile(PARAMS[call.name]!);
    expect(validate(JSON.parse(call.arguments)), `${call.name} ${call.arguments}`).toBe(true);
  }
  return calls;
}

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
    expect(ajv.validate(schema, JSON.parse(res.output_text)), res.output_text).toBe(true);
    generated.push(res.usage!.output_tokens);
  });

  it('a function tool with tool_choice required answers function_call items whose arguments validate', async () => {
    const res = await client.responses.create({ model: stack.model, input: 'Weather in Oslo?', tools: TOOLS, tool_choice: 'required' });
    expect(res.status).toBe('completed');
    expectValidCalls(res.output);
    expect(res.tools.map((t) => t.type === 'function' && t.name)).toEqual(['get_weather', 'get_time']);
    generated.push(res.usage!.output_tokens);
  });

  it('streams a forced call as function_call events the SDK assembles', async () => {
    const ask = { model: stack.model, input: 'Weather?', tools: TOOLS, tool_choice: { type: 'function', name: 'get_weather' } } as const;
    const types: string[] = [];
    const sequence: number[] = [];
    let args = '';
    let final: OpenAI.Responses.Response | undefined;
    for await (const ev of await client.responses.create({ ...ask, stream: true })) {
      types.push(ev.type);
      sequence.push(ev.sequence_number);
      if (ev.type === 'response.function_call_arguments.delta') args += ev.delta;
      if (ev.type === 'response.completed') final = ev.response;
    }
    expect(sequence).toEqual(sequence.map((_, i) => i));
    const deltas = types.filter((t) => t === 'response.function_call_arguments.delta').length;
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      ...Array(deltas).fill('response.function_call_arguments.delta'),
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const [call] = expectValidCalls(final!.output, 'get_weather');
    expect(call!.arguments).toBe(args);
    generated.push(final!.usage!.output_tokens);

    // The stream helper: strict tools get their arguments parsed.
    const helped = await client.responses.stream(ask).finalResponse();
    const parsed = expectValidCalls(helped.output, 'get_weather')[0] as ParsedResponseFunctionToolCall;
    expect(parsed.parsed_arguments).toEqual(JSON.parse(parsed.arguments));
    generated.push(helped.usage!.output_tokens);
  });

  it('the agent loop: the call and its output sent back as input make the next turn', async () => {
    const first = await client.responses.create(ASK_WEATHER());
    const [call] = expectValidCalls(first.output);
    generated.push(first.usage!.output_tokens);
    const input: OpenAI.Responses.ResponseInput = [
      { role: 'user', content: 'Weather in Oslo?' },
      call!,
      { type: 'function_call_output', call_id: call!.call_id, output: JSON.stringify({ temp: 21, sky: 'clear' }) },
    ];
    const next = await client.responses.create({ model: stack.model, input, tools: TOOLS, max_output_tokens: 8 });
    // auto: the random model writes text; the call and its output are in the prompt.
    expect(['completed', 'incomplete']).toContain(next.status);
    expect(next.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);
    generated.push(next.usage!.output_tokens);

    const orphan = await client.responses
      .create({ model: stack.model, input: [{ type: 'function_call_output', call_id: 'call_none', output: 'x' }] })
      .catch((e: unknown) => e);
    expect(orphan).toBeInstanceOf(OpenAI.BadRequestError);
    expect((orphan as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('input.0.call_id');
  });

  it('a hosted tool is a 400 naming its type', async () => {
    const err = await client.responses.create({ model: stack.model, input: 'x', tools: [{ type: 'web_search' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tools.0.type');
    expect((err as Error).message).toContain("'web_search'");
  });

  it('stored responses: retrieved, continued with previous_response_id (the agent loop sends only the output), deleted', async () => {
    const first = await client.responses.create(ASK_WEATHER());
    generated.push(first.usage!.output_tokens);
    expect(await client.responses.retrieve(first.id)).toEqual(first);
    const [call] = expectValidCalls(first.output);
    const next = await client.responses.create({
      model: stack.model,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call!.call_id, output: '{"temp":21}' }],
      tools: TOOLS,
      max_output_tokens: 8,
    });
    generated.push(next.usage!.output_tokens);
    expect(next.previous_response_id).toBe(first.id);
    // The stored question and call are in the prompt: more input than the first turn had.
    expect(next.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);

    const missing = await client.responses.create({ model: stack.model, input: 'x', previous_response_id: 'resp_abc' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.BadRequestError);
    expect((missing as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('previous_response_id');
    await client.responses.delete(first.id);
    await expect(client.responses.retrieve(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('every generation is metered and shows in /v1/usage', async () => {
    expect(generated).toHaveLength(10);
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
