/**
 * Tool calls end to end: the official `openai` SDK → edge → origin (native engine on the
 * random-weight tiny model). Random weights know nothing of tools, so every valid call here is
 * the constrained decoder's doing; each call's arguments are checked by an independent validator
 * (ajv) against the function's parameters.
 */
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { zodFunction } from 'openai/helpers/zod';
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

const WEATHER = {
  type: 'object',
  properties: { city: { type: 'string', minLength: 1, maxLength: 8 }, unit: { enum: ['c', 'f'] }, days: { type: 'integer', minimum: 1, maximum: 7 } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const TIME = { type: 'object', properties: { tz: { type: 'string', maxLength: 5 } }, required: ['tz'], additionalProperties: false };
const TOOLS: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather for a city.', parameters: WEATHER, strict: true } },
  { type: 'function', function: { name: 'get_time', description: 'Local time.', parameters: TIME } },
];
const PARAMS: Record<string, object> = { get_weather: WEATHER, get_time: TIME };

/** Every call names an offered function and its arguments validate against its parameters. */
function expectValidCalls(calls: OpenAI.ChatCompletionMessageToolCall[] | undefined, only?: string): void {
  expect(calls?.length).toBeGreaterThan(0);
  for (const call of calls ?? []) {
    if (call.type !== 'function') throw new Error(`unexpected call type ${call.type}`);
    expect(call.id).toMatch(/^call_/);
    if (only) expect(call.function.name).toBe(only);
    const schema = PARAMS[call.function.name];
    expect(schema, call.function.name).toBeDefined();
    const validate = ajv.compile(schema!);
    expect(validate(JSON.parse(call.function.arguments)), `${call.function.arguments} ${ajv.errorsText(validate.errors)}`).toBe(true);
  }
}

describe('tool calls through the edge with the openai SDK', () => {
  it('tool_choice required returns tool_calls whose arguments validate (parallel on and off)', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map((seed) =>
        client.chat.completions.create({
          model: stack.model,
          messages: [{ role: 'user', content: 'Weather in Oslo?' }],
          tools: TOOLS,
          tool_choice: 'required',
          parallel_tool_calls: seed % 2 === 0,
          seed,
        }),
      ),
    );
    for (const [i, res] of results.entries()) {
      const choice = res.choices[0]!;
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBeNull();
      expectValidCalls(choice.message.tool_calls);
      if (i % 2 === 0) expect(choice.message.tool_calls).toHaveLength(1);
    }
  });

  it('a named function is the one called', async () => {
    const res = await client.chat.completions.create({
      model: stack.model,
      messages: [{ role: 'user', content: 'What time is it?' }],
      tools: TOOLS,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
      seed: 7,
    });
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
    expectValidCalls(res.choices[0]!.message.tool_calls, 'get_time');
    expect(res.choices[0]!.message.tool_calls).toHaveLength(1);
  });

  it('streams calls the SDK assembles', async () => {
    const stream = client.chat.completions.stream({
      model: stack.model,
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: TOOLS,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      seed: 3,
      stream: true,
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expectValidCalls(final.choices[0]!.message.tool_calls, 'get_weather');
  });

  it('takes a follow-up turn with the call and a tool message', async () => {
    const first = await client.chat.completions.create({
      model: stack.model,
      messages: [{ role: 'user', content: 'Time?' }],
      tools: TOOLS,
      tool_choice: 'required',
      parallel_tool_calls: false,
      seed: 9,
    });
    const call = first.choices[0]!.message.tool_calls![0]!;
    const res = await client.chat.completions.create({
      model: stack.model,
      messages: [{ role: 'user', content: 'Time?' }, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '12:00' }],
      tools: TOOLS,
      max_tokens: 8,
      seed: 9,
    });
    // auto: the random model writes text; the history (call and result) is in the prompt.
    expect(res.choices[0]!.finish_reason).toMatch(/^(stop|length)$/);
    expect(res.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens);
  });

  it('chat.completions.parse with a zodFunction tool returns parsed arguments', async () => {
    const Lookup = z.object({ id: z.number().int().min(1).max(99), kind: z.enum(['book', 'pen']) });
    const res = await client.chat.completions.parse({
      model: stack.model,
      messages: [{ role: 'user', content: 'Look it up.' }],
      tools: [zodFunction({ name: 'lookup', parameters: Lookup })],
      tool_choice: 'required',
      seed: 4,
    });
    const call = res.choices[0]!.message.tool_calls?.[0];
    if (call?.type !== 'function') throw new Error('no function call');
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
    expect(Lookup.parse(call.function.parsed_arguments)).toEqual(call.function.parsed_arguments);
  });

  it('tool_choice naming no offered function is a 400 naming tool_choice', async () => {
    const err = await client.chat.completions
      .create({ model: stack.model, messages: [{ role: 'user', content: 'x' }], tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tool_choice');
  });
});
