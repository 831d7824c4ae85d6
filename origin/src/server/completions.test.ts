import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { ChatCompletion, ChatCompletionChunk, Completion } from '#shared/openai.ts';
import type { TokenLogprob } from '../engine/types.ts';
import { ScriptedTestEngine, signedRequest, sseEvents, testOrigin } from './test-helpers.ts';

const hello = () =>
  new ScriptedTestEngine(() => ({ promptTokens: 7, cachedTokens: 2, pieces: [{ text: 'Hel' }, { text: 'lo' }, { text: '!' }], reason: 'stop' }));
const chatBody = (extra: Record<string, unknown> = {}) => ({ model: 'motif-test', messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('non-stream responses', () => {
  it('renders chat.completion with usage, exactly as OpenAI', async () => {
    const { app, outbox } = testOrigin(hello());
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: chatBody(), requestId: 'r-chat' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('r-chat');
    const body = ChatCompletion.strict().parse(await res.json());
    expect(body).toMatchObject({
      id: 'chatcmpl-r-chat',
      object: 'chat.completion',
      model: 'motif-test',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, prompt_tokens_details: { cached_tokens: 2 } },
    });
    expect(outbox.all.map((e) => e.record)).toEqual([
      expect.objectContaining({
        request_id: 'r-chat',
        replica_id: 'replica-1',
        tenant_id: 'tenant-a',
        key_id: 'key-1',
        endpoint: 'chat.completions',
        prompt_tokens: 7,
        cached_tokens: 2,
        completion_tokens: 3,
        outcome: 'finish',
        revision: 'rev1',
      }),
    ]);
  });

  it('renders text_completion and maps a token-id prompt', async () => {
    const engine = hello();
    const { app } = testOrigin(engine);
    const res = await app.request(
      await signedRequest('/v1/completions', { body: { model: 'motif-test', prompt: [1, 2, 3], max_tokens: 5, ignore_eos: true } }),
    );
    const body = Completion.parse(await res.json());
    expect(body).toMatchObject({
      object: 'text_completion',
      choices: [{ index: 0, text: 'Hello!', logprobs: null, finish_reason: 'stop' }],
      usage: { total_tokens: 10 },
    });
    expect(engine.requests[0]).toMatchObject({ prompt: { kind: 'ids', ids: [1, 2, 3] }, maxTokens: 5, ignoreEos: true });
  });

  it('maps chat messages and sampling parameters to the engine request', async () => {
    const engine = hello();
    const { app } = testOrigin(engine);
    await app.request(
      await signedRequest('/v1/chat/completions', {
        requestId: 'r-map',
        body: chatBody({
          messages: [
            { role: 'system', content: 'be brief' },
            {
              role: 'user',
              content: [
                { type: 'text', text: 'a' },
                { type: 'text', text: 'b' },
              ],
            },
          ],
          max_tokens: 50,
          max_completion_tokens: 9,
          top_p: 0.9,
          top_k: 40,
          min_p: 0.05,
          seed: 7,
          stop: ['\n', 'END'],
          presence_penalty: 0.5,
          frequency_penalty: -0.5,
        }),
      }),
    );
    expect(engine.requests[0]).toEqual({
      requestId: 'r-map',
      prompt: {
        kind: 'chat',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'ab' },
        ],
      },
      maxTokens: 9,
      sampling: { temperature: 1, topP: 0.9, topK: 40, minP: 0.05, seed: 7, presencePenalty: 0.5, frequencyPenalty: -0.5, repetitionPenalty: 1 },
      stop: ['\n', 'END'],
    });
  });

  it('renders logprobs in the chat and the completions shapes', async () => {
    const lp = (token: string, logprob: number): TokenLogprob => ({
      token,
      logprob,
      bytes: [...new TextEncoder().encode(token)],
      top: [
        { token, logprob, bytes: [] },
        { token: 'x', logprob: -3, bytes: [120] },
      ],
    });
    const engine = new ScriptedTestEngine(() => ({
      promptTokens: 2,
      pieces: [{ text: 'ab', logprobs: [lp('a', -0.1), lp('b', -0.2)], tokenIds: [5, 6] }],
      reason: 'length',
    }));
    const { app } = testOrigin(engine);
    const chat = ChatCompletion.parse(
      await (await app.request(await signedRequest('/v1/chat/completions', { body: chatBody({ logprobs: true, top_logprobs: 2 }) }))).json(),
    );
    expect(engine.requests[0]?.topLogprobs).toBe(2);
    expect(chat.choices[0]?.finish_reason).toBe('length');
    expect(chat.choices[0]?.logprobs?.content?.[1]).toEqual({
      token: 'b',
      logprob: -0.2,
      bytes: [98],
      top_logprobs: [
        { token: 'b', logprob: -0.2, bytes: [] },
        { token: 'x', logprob: -3, bytes: [120] },
      ],
    });
    const cmpl = Completion.parse(
      await (await app.request(await signedRequest('/v1/completions', { body: { model: 'motif-test', prompt: 'p', logprobs: 2 } }))).json(),
    );
    expect(cmpl.choices[0]?.logprobs).toEqual({
      tokens: ['a', 'b'],
      token_logprobs: [-0.1, -0.2],
      top_logprobs: [
        { a: -0.1, x: -3 },
        { b: -0.2, x: -3 },
      ],
      text_offset: [0, 1],
    });
  });
});

describe('request errors before the first byte', () => {
  it.each([
    ['unknown model', '/v1/chat/completions', chatBody({ model: 'gpt-9' }), 404, 'model_not_found'],
    [
      'a json_schema outside the supported subset',
      '/v1/chat/completions',
      chatBody({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: '^a+$' } } } }),
      400,
      'invalid_request_error',
    ],
    [
      'a completions json_schema outside the supported subset',
      '/v1/completions',
      { model: 'motif-test', prompt: 'x', response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { oneOf: [] } } } },
      400,
      'invalid_request_error',
    ],
    ['n > 1', '/v1/chat/completions', chatBody({ n: 2 }), 400, 'invalid_request_error'],
    [
      'a tool_choice naming no offered function',
      '/v1/chat/completions',
      chatBody({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }),
      400,
      'invalid_request_error',
    ],
    ['no messages', '/v1/chat/completions', { model: 'motif-test', messages: [] }, 400, 'invalid_request_error'],
    ['temperature out of range', '/v1/chat/completions', chatBody({ temperature: 3 }), 400, 'invalid_request_error'],
    ['top_logprobs without logprobs', '/v1/chat/completions', chatBody({ top_logprobs: 2 }), 400, 'invalid_request_error'],
    ['echo', '/v1/completions', { model: 'motif-test', prompt: 'x', echo: true }, 400, 'invalid_request_error'],
    ['a non-object body', '/v1/completions', [1, 2], 400, 'invalid_request_error'],
  ])('%s → %i %s, engine untouched, one refused usage record', async (_name, path, body, status, code) => {
    const engine = hello();
    const { app, outbox } = testOrigin(engine);
    const res = await app.request(await signedRequest(path, { body }));
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error: { code, type: 'invalid_request_error', message: expect.any(String) } });
    expect(engine.requests).toHaveLength(0);
    expect(outbox.all.map((e) => [e.record.outcome, e.record.prompt_tokens, e.record.completion_tokens])).toEqual([['refused', 0, 0]]);
  });

  it('names the offending parameter and schema keyword', async () => {
    const { app } = testOrigin(hello());
    const schema = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } };
    const res = await app.request(
      await signedRequest('/v1/chat/completions', { body: chatBody({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }) }),
    );
    expect(await res.json()).toMatchObject({
      error: { param: 'response_format.json_schema.schema', message: expect.stringMatching(/'format' is not supported.*#\/properties\/id/) },
    });
  });

  it.each([
    ['json_object', { type: 'json_object' }, { type: 'json_object' }],
    [
      'json_schema',
      { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' }, strict: true } },
      { type: 'json_schema', schema: { type: 'object' } },
    ],
    ['json_schema without a schema', { type: 'json_schema', json_schema: { name: 'x' } }, { type: 'json_object' }],
    ['text', { type: 'text' }, undefined],
  ])('passes a %s response_format to the engine', async (_name, format, expected) => {
    const engine = hello();
    const { app } = testOrigin(engine);
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: chatBody({ response_format: format }) }));
    expect(res.status).toBe(200);
    expect(engine.requests[0]?.responseFormat).toEqual(expected);
  });

  it('answers malformed JSON with 400 invalid_json', async () => {
    const { app } = testOrigin(hello());
    const good = await signedRequest('/v1/chat/completions', { body: 'placeholder' });
    // Sign the broken bytes themselves so only the JSON is wrong.
    const { signHeaders } = await import('#shared/signing.ts');
    const broken = '{"model":';
    const headers = new Headers(good.headers);
    headers.set('x-request-id', 'r-bad-json');
    headers.delete('x-motif-signature');
    headers.set(
      'x-motif-signature',
      await signHeaders('POST', '/v1/chat/completions', Object.fromEntries(headers), broken, { kid: 'k1', secret: 'test-secret-0123456789' }),
    );
    const res = await app.request(new Request(good.url, { method: 'POST', headers, body: broken }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_json' } });
  });

  it.each([
    {
      name: 'an unknown field nested 100 deep',
      body: `{"model":"motif-test","messages":[{"role":"user","content":"x"}],"metadata":${'['.repeat(100)}${']'.repeat(100)}}`,
      param: 'metadata',
    },
    { name: 'a number past float range', body: '{"model":"motif-test","messages":[{"role":"user","content":"x"}],"max_tokens":1e400}', param: 'max_tokens' },
    { name: 'an integer past 2^53', body: `{"model":"motif-test","messages":[{"role":"user","content":"x"}],"seed":${'9'.repeat(40)}}`, param: 'seed' },
  ])('answers $name with a 400 naming $param', async ({ body, param }) => {
    const engine = hello();
    const { app } = testOrigin(engine);
    const res = await app.request(await signedRequest('/v1/chat/completions', { rawBody: body }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param } });
    expect(engine.requests).toHaveLength(0);
  });

  it('answers invalid UTF-8 with 400 invalid_json rather than serving replacement characters', async () => {
    const engine = hello();
    const { app } = testOrigin(engine);
    const enc = new TextEncoder();
    const rawBody = new Uint8Array([...enc.encode('{"model":"motif-test","messages":[{"role":"user","content":"'), 0xc3, 0x28, ...enc.encode('"}]}')]);
    const res = await app.request(await signedRequest('/v1/chat/completions', { rawBody }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_json' } });
    expect(engine.requests).toHaveLength(0);
  });

  it.each([
    ['overloaded', new ApiError('overloaded', 'busy', { retryAfter: 3 }), 503, '3'],
    ['context too long', new ApiError('context_length_exceeded', 'too long', { param: 'messages' }), 400, null],
  ])('passes an engine refusal (%s) through with its status', async (_name, refuse, status, retryAfter) => {
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 0, pieces: [], refuse }));
    const { app, outbox, admission } = testOrigin(engine);
    for (const stream of [false, true]) {
      const res = await app.request(await signedRequest('/v1/chat/completions', { body: chatBody({ stream }) }));
      expect(res.status).toBe(status);
      expect(res.headers.get('retry-after')).toBe(retryAfter);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(await res.json()).toMatchObject({ error: { code: refuse.code, message: refuse.message } });
    }
    expect(outbox.all.map((e) => e.record.outcome)).toEqual(['refused', 'refused']);
    expect(admission.running).toBe(0);
  });

  it('answers 504 at once when x-deadline has already passed', async () => {
    const engine = hello();
    const { app, outbox } = testOrigin(engine);
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: chatBody(), headers: { 'x-deadline': String(Date.now() - 1) } }));
    expect(res.status).toBe(504);
    expect(engine.requests).toHaveLength(0);
    expect(outbox.all[0]?.record.outcome).toBe('refused');
  });

  it('refuses a malformed x-deadline', async () => {
    const { app, outbox } = testOrigin(hello());
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: chatBody(), headers: { 'x-deadline': 'soon' } }));
    expect(res.status).toBe(400);
    expect(outbox.all.map((e) => e.record.outcome)).toEqual(['refused']);
  });

  it('lists the served model on /v1/models, with the revision as its fingerprint', async () => {
    const { app } = testOrigin(hello());
    const body = await (await app.request(await signedRequest('/v1/models'))).json();
    expect(body).toEqual({
      object: 'list',
      data: [{ id: 'motif-test', object: 'model', created: expect.any(Number), owned_by: 'motif', system_fingerprint: 'fp_rev1' }],
    });
  });
});

describe('stream chunks parse as OpenAI chunks', () => {
  it('every data frame but [DONE] is a chat.completion.chunk', async () => {
    const { app } = testOrigin(hello());
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: chatBody({ stream: true, stream_options: { include_usage: true } }) }));
    const events = await sseEvents(res);
    for (const ev of events.slice(0, -1)) ChatCompletionChunk.strict().parse(JSON.parse(ev.data));
    expect(events.at(-1)?.data).toBe('[DONE]');
  });
});
