import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { memoryResponseStore } from '../adapters/memory/response-store.ts';
import { TEST_KEY, type TestEdge, testEdge } from '../testing/harness.ts';

const body = { model: 'motif-test', input: 'hi' };
const WEATHER = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
const TOOLS = [{ type: 'function' as const, name: 'get_weather', parameters: WEATHER, strict: true }];

const sdk = (t: TestEdge) =>
  new OpenAI({ apiKey: TEST_KEY, baseURL: 'http://edge.test/v1', maxRetries: 0, fetch: async (url, init) => t.app.request(String(url), init) });

/** The response's `store` flag (the SDK's type leaves it out). */
const storeOf = (r: object) => (r as { store?: unknown }).store;

async function ready(opts: Parameters<typeof testEdge>[0] = {}) {
  const t = await testEdge(opts);
  await t.beat(t.origins[0]!);
  return t;
}

describe('stored responses', () => {
  it('keeps a response by default; GET returns it, DELETE removes it', async () => {
    const t = await ready();
    const client = sdk(t);
    const created = await client.responses.create(body);
    expect(storeOf(created)).toBe(true);
    const got = await client.responses.retrieve(created.id);
    expect(got).toEqual(created);
    const res = await t.app.request(`/v1/responses/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_KEY}` } });
    expect(await res.json()).toEqual({ id: created.id, object: 'response', deleted: true });
    await expect(client.responses.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
  });

  it('keeps a streamed response once it completed, readable as soon as the stream ended', async () => {
    const t = await ready();
    const client = sdk(t);
    const final = await client.responses.stream(body).finalResponse();
    expect(storeOf(final)).toBe(true);
    expect((await client.responses.retrieve(final.id)).output_text).toBe('Hello world');
  });

  it('does not keep a response with store false', async () => {
    const t = await ready();
    const client = sdk(t);
    const created = await client.responses.create({ ...body, store: false });
    expect(storeOf(created)).toBe(false);
    await expect(client.responses.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
  });

  it('continues a conversation from previous_response_id (without the previous instructions)', async () => {
    const t = await ready();
    const client = sdk(t);
    const first = await client.responses.create({ ...body, instructions: 'be brief' });
    const second = await client.responses.create({ model: 'motif-test', input: 'and then?', previous_response_id: first.id });
    expect(second.previous_response_id).toBe(first.id);
    expect(t.origins[0]!.requests.at(-1)!.body).toMatchObject({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello world' }] },
        { role: 'user', content: 'and then?' },
      ],
    });
    // A chain: the third turn sees both earlier ones.
    await client.responses.create({ model: 'motif-test', input: 'last', previous_response_id: second.id });
    expect((t.origins[0]!.requests.at(-1)!.body as { messages: unknown[] }).messages).toHaveLength(5);
  });

  it('runs the agent loop sending only the function output after a stored call', async () => {
    const t = await ready();
    const client = sdk(t);
    const first = await client.responses.create({ ...body, tools: TOOLS, tool_choice: 'required' });
    const call = first.output.find((o) => o.type === 'function_call');
    if (call?.type !== 'function_call') throw new Error('expected a function call');
    await client.responses.create({
      model: 'motif-test',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' }],
      tools: TOOLS,
    });
    const messages = (t.origins[0]!.requests.at(-1)!.body as { messages: { role: string; tool_calls?: unknown[] }[] }).messages;
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(messages[1]!.tool_calls).toMatchObject([{ id: call.call_id, function: { name: 'get_weather' } }]);
    // An output answering no call of the chain is refused, naming it.
    await expect(
      client.responses.create({
        model: 'motif-test',
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: 'call_nope', output: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 400, param: 'input.0.call_id' });
  });

  it('never finds another tenant’s response, nor an expired one', async () => {
    const store = memoryResponseStore();
    const t = await ready({ deps: { responseStore: store } });
    const client = sdk(t);
    const now = t.clock.now();
    await store.put({ tenantId: 'other', id: 'resp_theirs', createdAt: now, expiresAt: now + 60_000, response: '{}', items: '[]' });
    // A row that does not read back is a 404 too, never a 500.
    await store.put({ tenantId: 'acme', id: 'resp_broken', createdAt: now, expiresAt: now + 60_000, response: '{not json', items: 'x' });
    await expect(client.responses.retrieve('resp_broken')).rejects.toMatchObject({ status: 404 });
    await expect(client.responses.create({ ...body, previous_response_id: 'resp_broken' })).rejects.toMatchObject({ status: 400 });
    await expect(client.responses.retrieve('resp_theirs')).rejects.toMatchObject({ status: 404 });
    await expect(client.responses.create({ ...body, previous_response_id: 'resp_theirs' })).rejects.toMatchObject({
      status: 400,
      param: 'previous_response_id',
    });
    const mine = await client.responses.create(body);
    t.clock.advance(31 * 86_400_000);
    await expect(client.responses.retrieve(mine.id)).rejects.toMatchObject({ status: 404 });
  });

  it('without a store, nothing is kept: store true and previous_response_id are a 400 naming them', async () => {
    const t = await ready({ deps: { responseStore: undefined } });
    const client = sdk(t);
    expect(storeOf(await client.responses.create(body))).toBe(false);
    await expect(client.responses.create({ ...body, store: true })).rejects.toMatchObject({ status: 400, param: 'store' });
    await expect(client.responses.create({ ...body, previous_response_id: 'resp_1' })).rejects.toMatchObject({ status: 400, param: 'previous_response_id' });
  });
});
