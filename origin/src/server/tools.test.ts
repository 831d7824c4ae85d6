import { describe, expect, it } from 'vitest';
import { ChatCompletion, ChatCompletionChunk } from '#shared/openai.ts';
import { ScriptedTestEngine, signedRequest, sseEvents, testOrigin } from './test-helpers.ts';

const tool = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } } } } };
const body = (extra: Record<string, unknown> = {}) => ({ model: 'motif-test', messages: [{ role: 'user', content: 'time?' }], tools: [tool], ...extra });
const answering = (...pieces: string[]) => new ScriptedTestEngine(() => ({ promptTokens: 5, pieces: pieces.map((text) => ({ text })), reason: 'stop' }));
const CALL = ['{"name":"get_', 'time","arguments":{"tz":"UTC"}}'];

describe('tool calls on /v1/chat/completions', () => {
  it('maps tools, the choice and a history with calls and results to the engine request', async () => {
    const engine = answering('ok');
    const { app } = testOrigin(engine);
    const call = { id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } };
    const messages = [
      { role: 'user', content: 'time?' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: 'call_1', content: '12:00' },
    ];
    const res = await app.request(
      await signedRequest('/v1/chat/completions', { body: body({ messages, tool_choice: 'required', parallel_tool_calls: false }) }),
    );
    expect(res.status).toBe(200);
    expect(engine.requests[0]).toMatchObject({
      prompt: {
        kind: 'chat',
        messages: [
          { role: 'user', content: 'time?' },
          { role: 'assistant', content: '', tool_calls: [call] },
          { role: 'tool', content: '12:00', tool_call_id: 'call_1' },
        ],
      },
      tools: { tools: [tool], choice: 'required', parallel: false },
    });
  });

  it('returns the parsed calls with finish_reason tool_calls', async () => {
    const { app } = testOrigin(answering(...CALL));
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: body({ tool_choice: 'required' }) }));
    const out = ChatCompletion.strict().parse(await res.json());
    expect(out.choices[0]).toMatchObject({
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_time', arguments: '{"tz":"UTC"}' } }],
      },
      finish_reason: 'tool_calls',
    });
  });

  it('returns text as content when the model answers without a call (auto)', async () => {
    const { app } = testOrigin(answering('It is ', 'noon.'));
    const out = ChatCompletion.parse(await (await app.request(await signedRequest('/v1/chat/completions', { body: body() }))).json());
    expect(out.choices[0]).toMatchObject({ message: { content: 'It is noon.' }, finish_reason: 'stop' });
    expect(out.choices[0]!.message.tool_calls).toBeUndefined();
  });

  it('streams the calls as delta.tool_calls once the answer ended, tokens counted', async () => {
    const { app, outbox } = testOrigin(answering(...CALL));
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: body({ stream: true, stream_options: { include_usage: true } }) }));
    const events = await sseEvents(res);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => ChatCompletionChunk.parse(JSON.parse(e.data)));
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([
      { role: 'assistant', content: '' },
      { tool_calls: [{ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_time', arguments: '{"tz":"UTC"}' } }] },
      {},
      undefined,
    ]);
    expect(chunks[2]!.choices[0]!.finish_reason).toBe('tool_calls');
    expect(chunks[3]!.usage).toMatchObject({ completion_tokens: 2 });
    expect(outbox.all.map((e) => [e.record.outcome, e.record.completion_tokens])).toEqual([['finish', 2]]);
  });

  it('streams plain text as it is generated when no call was made', async () => {
    const { app } = testOrigin(answering('a', 'b'));
    const events = await sseEvents(await app.request(await signedRequest('/v1/chat/completions', { body: body({ stream: true }) })));
    const deltas = events.slice(0, -1).map((e) => JSON.parse(e.data).choices[0]);
    expect(deltas.map((c: { delta: unknown; finish_reason: unknown }) => [c.delta, c.finish_reason])).toEqual([
      [{ role: 'assistant', content: '' }, null],
      [{ content: 'a' }, null],
      [{ content: 'b' }, null],
      [{}, 'stop'],
    ]);
  });

  it('streams text, then each call as soon as its block closes (auto)', async () => {
    const block = '<tool_call>{"name":"get_time","arguments":{}}</tool_call>';
    const { app } = testOrigin(answering('Checking', ' now.\n', block.slice(0, 20), block.slice(20), '\n'));
    const events = await sseEvents(await app.request(await signedRequest('/v1/chat/completions', { body: body({ stream: true }) })));
    const deltas = events.slice(0, -1).map((e) => JSON.parse(e.data).choices[0]);
    expect(deltas.map((c: { delta: unknown; finish_reason: unknown }) => [c.delta, c.finish_reason])).toEqual([
      [{ role: 'assistant', content: '' }, null],
      [{ content: 'Checking' }, null],
      [{ content: ' now.' }, null],
      [{ tool_calls: [{ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_time', arguments: '{}' } }] }, null],
      [{}, 'tool_calls'],
    ]);
  });

  it('keeps the calls completed before max_tokens cut the answer, finish_reason length', async () => {
    const block = '<tool_call>{"name":"get_time","arguments":{}}</tool_call>';
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 5, pieces: [{ text: block }, { text: '<tool_call>{"na' }], reason: 'length' }));
    const { app } = testOrigin(engine);
    const out = ChatCompletion.parse(await (await app.request(await signedRequest('/v1/chat/completions', { body: body() }))).json());
    expect(out.choices[0]).toMatchObject({
      message: { content: '<tool_call>{"na', tool_calls: [{ function: { name: 'get_time' } }] },
      finish_reason: 'length',
    });
  });

  it('tool_choice none offers no tools', async () => {
    const engine = answering(...CALL);
    const { app } = testOrigin(engine);
    const out = ChatCompletion.parse(await (await app.request(await signedRequest('/v1/chat/completions', { body: body({ tool_choice: 'none' }) }))).json());
    expect(engine.requests[0]!.tools).toBeUndefined();
    expect(out.choices[0]).toMatchObject({ message: { content: CALL.join('') }, finish_reason: 'stop' });
  });
});
