import { describe, expect, it } from 'vitest';
import { eventually, ScriptedTestEngine, signedRequest, sseEvents, testOrigin } from './test-helpers.ts';

const chatBody = (extra: Record<string, unknown> = {}) => ({ model: 'motif-test', messages: [{ role: 'user', content: 'hi' }], stream: true, ...extra });
const three = () => new ScriptedTestEngine(() => ({ promptTokens: 4, pieces: [{ text: 'a' }, { text: '' }, { text: 'b' }], reason: 'length' }));
const json = (data: string) => JSON.parse(data) as Record<string, unknown>;

describe('chat streaming', () => {
  it('sends role chunk, content deltas, finish chunk, [DONE] — and no usage chunk unless asked', async () => {
    const { app, outbox } = testOrigin(three());
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: chatBody(), requestId: 'r-s1' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await sseEvents(res);
    expect(events.map((e) => e.event)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    const chunks = events.slice(0, -1).map((e) => json(e.data));
    const base = { id: 'chatcmpl-r-s1', object: 'chat.completion.chunk', model: 'motif-test', created: expect.any(Number), system_fingerprint: 'fp_rev1' };
    expect(chunks).toEqual([
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: 'a' }, logprobs: null, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: 'b' }, logprobs: null, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'length' }] },
    ]);
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(outbox.all.map((e) => [e.record.outcome, e.record.completion_tokens])).toEqual([['finish', 3]]);
  });

  it('adds usage: null to every chunk and a final choices: [] usage chunk when include_usage', async () => {
    const { app } = testOrigin(three());
    const events = await sseEvents(
      await app.request(await signedRequest('/v1/chat/completions', { body: chatBody({ stream_options: { include_usage: true } }) })),
    );
    const chunks = events.slice(0, -1).map((e) => json(e.data));
    expect(chunks).toHaveLength(5);
    for (const c of chunks.slice(0, 4)) expect(c.usage).toBeNull();
    expect(chunks[4]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } },
    });
    expect(events.at(-1)?.data).toBe('[DONE]');
  });

  it('streams completions as text_completion chunks', async () => {
    const { app } = testOrigin(three());
    const events = await sseEvents(
      await app.request(
        await signedRequest('/v1/completions', { body: { model: 'motif-test', prompt: 'x', stream: true, stream_options: { include_usage: true } } }),
      ),
    );
    const chunks = events.slice(0, -1).map((e) => json(e.data) as { object: string; choices: { text: string; finish_reason: string | null }[] });
    expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
    expect(chunks.map((c) => c.choices.map((ch) => [ch.text, ch.finish_reason]))).toEqual([[['a', null]], [['b', null]], [['', 'length']], []]);
    expect(events.at(-1)?.data).toBe('[DONE]');
  });
});

describe('failures and aborts during a stream', () => {
  it('an engine error after the first byte ends with an error frame and no [DONE]', async () => {
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 4, pieces: [{ text: 'a' }, { text: 'b' }, { text: 'c' }], failAfter: 2 }));
    const { app, outbox, admission } = testOrigin(engine);
    const events = await sseEvents(await app.request(await signedRequest('/v1/chat/completions', { body: chatBody() })));
    const last = events.at(-1);
    expect(last?.event).toBe('error');
    expect(json(last?.data ?? '{}')).toMatchObject({ error: { code: 'internal_error', type: 'server_error' } });
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    expect(events.filter((e) => e.event === undefined)).toHaveLength(3); // role + 2 deltas
    expect(outbox.all.map((e) => [e.record.outcome, e.record.prompt_tokens, e.record.completion_tokens])).toEqual([['error', 4, 2]]);
    expect(admission.running).toBe(0);
  });

  it('a client disconnect aborts the engine signal, frees the slot and bills outcome abort with exact usage', async () => {
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 6, pieces: [{ text: 'a' }, { text: 'b' }, { text: 'c' }], hangAfter: 1 }));
    const { app, outbox, admission } = testOrigin(engine);
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: chatBody() }));
    const reader = res.body!.getReader();
    await reader.read(); // role chunk
    await reader.read(); // 'a'
    expect(engine.signals[0]?.aborted).toBe(false);
    await reader.cancel();
    await eventually(() => outbox.all.length === 1);
    expect(engine.signals[0]?.aborted).toBe(true);
    expect(outbox.all[0]?.record).toMatchObject({ outcome: 'abort', prompt_tokens: 6, completion_tokens: 1 });
    expect(admission.running).toBe(0);
    expect(engine.running).toBe(0);
  });

  it('a client disconnect on a non-stream request (request signal) bills abort', async () => {
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 6, pieces: [{ text: 'a' }, { text: 'b' }], hangAfter: 1 }));
    const { app, outbox } = testOrigin(engine);
    const ac = new AbortController();
    const pending = app.request(await signedRequest('/v1/chat/completions', { body: chatBody({ stream: false }), signal: ac.signal }));
    await eventually(() => engine.signals.length === 1);
    ac.abort();
    const res = await pending;
    expect(res.status).toBe(499);
    expect(outbox.all.map((e) => [e.record.outcome, e.record.completion_tokens])).toEqual([['abort', 1]]);
  });

  it('a deadline passing mid-stream aborts the engine and ends with a timeout error frame', async () => {
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 2, pieces: [{ text: 'a' }, { text: 'b' }], hangAfter: 1 }));
    const { app, outbox } = testOrigin(engine);
    // The engine hangs after one piece, so any deadline after the stream began ends it mid-stream;
    // a second leaves room for signing and routing on a loaded machine (a deadline that passes
    // before the engine starts is a refusal, not this case).
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: chatBody(), headers: { 'x-deadline': String(Date.now() + 1_000) } }));
    const events = await sseEvents(res);
    expect(events.at(-1)?.event).toBe('error');
    expect(json(events.at(-1)?.data ?? '{}')).toMatchObject({ error: { code: 'timeout' } });
    expect(engine.signals[0]?.aborted).toBe(true);
    expect(outbox.all.map((e) => e.record.outcome)).toEqual(['stop']);
  });
});

describe('one usage record per request', () => {
  it('writes exactly one record per request id across mixed outcomes', async () => {
    let n = 0;
    const engine = new ScriptedTestEngine(() => {
      n++;
      return n % 3 === 0 ? { promptTokens: 1, pieces: [{ text: 'x' }], failAfter: 1 } : { promptTokens: 1, pieces: [{ text: 'x' }] };
    });
    const { app, outbox } = testOrigin(engine);
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) {
      const id = `mix-${i}`;
      ids.push(id);
      const res = await app.request(await signedRequest('/v1/chat/completions', { body: chatBody({ stream: i % 2 === 0 }), requestId: id }));
      await res.text();
    }
    expect(outbox.all.map((e) => e.record.request_id).sort()).toEqual(ids.sort());
    expect(outbox.all.filter((e) => e.record.outcome === 'error')).toHaveLength(3);
  });

  it('a usage store failure is counted and logged, and the response still completes', async () => {
    const { createOriginApp } = await import('./app.ts');
    const { deps } = testOrigin(three());
    const logs: string[] = [];
    const app = createOriginApp({ ...deps, usage: { append: () => Promise.reject(new Error('disk full')) }, log: (l) => logs.push(l) });
    const events = await sseEvents(await app.request(await signedRequest('/v1/chat/completions', { body: chatBody(), requestId: 'r-disk' })));
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(logs.join('\n')).toMatch(/r-disk.*disk full/);
    expect(deps.metrics.render({ model: 'm', engine: deps.engine.stats(), admission: deps.admission, state: 'ready' })).toMatch(
      /^motif_origin_usage_append_failures_total 1$/m,
    );
  });
});
