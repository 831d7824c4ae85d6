import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { memoryResponseCache } from '../adapters/memory/response-cache.ts';
import { sseEvents, TEST_KEY, type TestEdge, testEdge } from '../testing/harness.ts';

const body = { model: 'motif-test', input: 'hi' };
const WEATHER = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };

/** The official SDK, talking to the in-process edge. */
const sdk = (t: TestEdge) =>
  new OpenAI({ apiKey: TEST_KEY, baseURL: 'http://edge.test/v1', maxRetries: 0, fetch: async (url, init) => t.app.request(String(url), init) });

async function ready(opts: Parameters<typeof testEdge>[0] = {}) {
  const t = await testEdge(opts);
  await t.beat(t.origins[0]!);
  return t;
}

describe('POST /v1/responses', () => {
  it('is served by the chat path and answers a response object', async () => {
    const t = await ready();
    const res = await t.post('/v1/responses', { ...body, instructions: 'be brief', max_output_tokens: 9, metadata: { k: 'v' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('BYPASS');
    const requestId = res.headers.get('x-request-id');
    const seen = t.origins[0]!.requests[0]!;
    expect(seen.path).toBe('/v1/chat/completions');
    expect(seen.body).toMatchObject({ max_tokens: 9, messages: [{ role: 'system' }, { role: 'user', content: 'hi' }] });
    expect(await res.json()).toMatchObject({
      id: `resp_${requestId}`,
      object: 'response',
      status: 'completed',
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello world' }] }],
      usage: { input_tokens: 5, output_tokens: 3, total_tokens: 8 },
      metadata: { k: 'v' },
      instructions: 'be brief',
    });
  });

  it('the SDK reads it unchanged: create, stream and the stream helper', async () => {
    const t = await ready();
    const client = sdk(t);
    const created = await client.responses.create(body);
    expect(created.output_text).toBe('Hello world');
    expect(created.usage?.total_tokens).toBe(8);

    const types: string[] = [];
    let text = '';
    for await (const ev of await client.responses.create({ ...body, stream: true })) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    expect(text).toBe('Hello world');
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');

    const final = await client.responses.stream(body).finalResponse();
    expect(final.output_text).toBe('Hello world');
    expect(final.usage?.output_tokens).toBe(3);
  });

  it('refuses a parameter it cannot honour with a 400 naming it, before any origin sees it', async () => {
    const t = await ready();
    const client = sdk(t);
    await expect(client.responses.create({ ...body, previous_response_id: 'resp_x' })).rejects.toMatchObject({ status: 400, param: 'previous_response_id' });
    const res = await t.post('/v1/responses', { ...body, tools: [{ type: 'web_search' }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { param: 'tools.0.type', type: 'invalid_request_error', message: expect.stringContaining("'web_search'") },
    });
    expect(t.origins[0]!.requests).toHaveLength(0);
  });

  it('function tools: calls come back as function_call items, created, streamed and assembled by the SDK', async () => {
    const t = await ready();
    const client = sdk(t);
    const tools: OpenAI.Responses.FunctionTool[] = [{ type: 'function', name: 'get_weather', parameters: WEATHER, strict: true }];
    const ask = { ...body, tools, tool_choice: 'required' as const, parallel_tool_calls: false };
    const created = await client.responses.create(ask);
    expect(t.origins[0]!.requests[0]!.body).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER, strict: true } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    const call = { type: 'function_call', name: 'get_weather', arguments: '{"city":"Oslo"}', status: 'completed' };
    expect(created).toMatchObject({ status: 'completed', output_text: 'Hello world', tool_choice: 'required', tools: [{ name: 'get_weather', strict: true }] });
    expect(created.output).toMatchObject([
      { type: 'message', content: [{ text: 'Hello world' }] },
      { ...call, call_id: expect.stringMatching(/^call_/) },
    ]);

    const types: string[] = [];
    let args = '';
    for await (const ev of await client.responses.create({ ...ask, stream: true })) {
      types.push(ev.type);
      if (ev.type === 'response.function_call_arguments.delta') args += ev.delta;
    }
    expect(args).toBe('{"city":"Oslo"}');
    expect(types.slice(types.indexOf('response.content_part.done'))).toEqual([
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);

    const final = await client.responses.stream(ask).finalResponse();
    expect(final.output).toMatchObject([{ type: 'message' }, call]);
    // strict: the SDK parses the arguments.
    expect(final.output[1]).toMatchObject({ parsed_arguments: { city: 'Oslo' } });
  });

  it('takes the next turn with the calls and their outputs as input', async () => {
    const t = await ready();
    const client = sdk(t);
    const tools: OpenAI.Responses.FunctionTool[] = [{ type: 'function', name: 'get_weather', parameters: WEATHER, strict: null }];
    const first = await client.responses.create({ ...body, tools });
    const call = first.output.find((item) => item.type === 'function_call')!;
    const input: OpenAI.Responses.ResponseInputItem[] = [
      { role: 'user', content: 'hi' },
      ...first.output.filter((item) => item.type === 'message' || item.type === 'function_call'),
      { type: 'function_call_output', call_id: call.call_id, output: 'sunny' },
    ];
    const next = await client.responses.create({ model: body.model, input, tools, tool_choice: 'none' });
    expect(next.output).toMatchObject([{ type: 'message', content: [{ text: 'Hello world' }] }]);
    expect(t.origins[0]!.requests[1]!.body).toMatchObject({
      tool_choice: 'none',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello world' }], tool_calls: [{ id: call.call_id, function: { name: 'get_weather' } }] },
        { role: 'tool', tool_call_id: call.call_id, content: 'sunny' },
      ],
    });
  });

  it('errors from the chat path name the Responses parameter (a prompt too long is `input`)', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!, { max_prompt_bytes: { prompt: 100, messages: 100 } });
    const res = await t.post('/v1/responses', { ...body, input: 'x'.repeat(1000) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'context_length_exceeded', param: 'input' } });
  });

  it('a known path with the wrong method is a 405; a body that is not JSON is a 415', async () => {
    const t = await ready();
    expect((await t.get('/v1/responses')).status).toBe(405);
    expect((await t.post('/v1/responses', body, { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('an origin failing mid-stream ends the stream with error and response.failed', async () => {
    const t = await ready({ origins: [{ replicaId: 'r1', mode: 'die-mid-stream' }] });
    const res = await t.post('/v1/responses', { ...body, stream: true });
    expect(res.status).toBe(200);
    const events = await sseEvents(res);
    expect(events.slice(-2).map((e) => e.event)).toEqual(['error', 'response.failed']);
  });

  it('goes through the response cache: a repeat is a hit, translated the same way', async () => {
    const t = await testEdge({ deps: { responseCache: memoryResponseCache({ maxEntries: 10, maxBytes: 100_000, clock: { now: () => Date.now() } }) } });
    await t.beat(t.origins[0]!);
    const deterministic = { ...body, temperature: 0 };
    const first = await t.post('/v1/responses', deterministic);
    expect(first.headers.get('x-cache')).toBe('MISS');
    await first.json();
    await new Promise((r) => setTimeout(r, 10)); // the entry is stored behind the answer
    const hit = await t.post('/v1/responses', { ...deterministic, stream: true });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    const events = await sseEvents(hit);
    expect(events.at(-1)?.event).toBe('response.completed');
    expect(JSON.parse(events.at(-1)!.data).response).toMatchObject({ output_text: 'Hello world', usage: { total_tokens: 8 } });
    expect(t.origins[0]!.requests).toHaveLength(1);
  });
});
