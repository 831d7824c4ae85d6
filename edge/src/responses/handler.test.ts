import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { memoryResponseCache } from '../adapters/memory/response-cache.ts';
import { sseEvents, TEST_KEY, type TestEdge, testEdge } from '../testing/harness.ts';

const body = { model: 'motif-test', input: 'hi' };

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
    const res = await t.post('/v1/responses', { ...body, tools: [{ type: 'function', name: 'f', parameters: {} }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'tools', type: 'invalid_request_error' } });
    expect(t.origins[0]!.requests).toHaveLength(0);
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
