import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { createAdmission } from './admission.ts';
import { eventually, metricsRequest, ScriptedTestEngine, signedRequest, sseEvents, testOrigin } from './test-helpers.ts';

const never = new AbortController().signal;

describe('createAdmission', () => {
  it.each([
    ['maxConcurrent 0', { maxConcurrent: 0, maxQueue: 1 }],
    ['fractional queue', { maxConcurrent: 1, maxQueue: 1.5 }],
    ['negative queue', { maxConcurrent: 1, maxQueue: -1 }],
  ])('rejects %s at creation', (_n, opts) => {
    expect(() => createAdmission(opts)).toThrow();
  });

  it('grants up to maxConcurrent, queues FIFO up to maxQueue, refuses the rest with overloaded + retry-after', async () => {
    const a = createAdmission({ maxConcurrent: 1, maxQueue: 2, retryAfterSeconds: 3 });
    const r1 = await a.acquire(never);
    const order: number[] = [];
    const q2 = a.acquire(never).then((r) => {
      order.push(2);
      return r;
    });
    const q3 = a.acquire(never).then((r) => {
      order.push(3);
      return r;
    });
    await expect(a.acquire(never)).rejects.toMatchObject({ code: 'overloaded', retryAfter: 3 });
    expect([a.running, a.waiting, a.rejected]).toEqual([1, 2, 1]);
    r1();
    r1(); // idempotent: must not free a second slot
    (await q2)();
    (await q3)();
    expect(order).toEqual([2, 3]);
    expect([a.running, a.waiting]).toEqual([0, 0]);
  });

  it('drops a queued waiter whose signal aborts', async () => {
    const a = createAdmission({ maxConcurrent: 1, maxQueue: 1 });
    const r1 = await a.acquire(never);
    const ac = new AbortController();
    const queued = a.acquire(ac.signal);
    ac.abort(new ApiError('client_closed_request', 'gone'));
    await expect(queued).rejects.toMatchObject({ code: 'client_closed_request' });
    expect(a.waiting).toBe(0);
    r1();
    expect(a.running).toBe(0);
  });

  it('close() refuses queued and new requests but lets holders finish', async () => {
    const a = createAdmission({ maxConcurrent: 1, maxQueue: 1 });
    const r1 = await a.acquire(never);
    const queued = a.acquire(never);
    a.close();
    await expect(queued).rejects.toMatchObject({ code: 'engine_unavailable' });
    await expect(a.acquire(never)).rejects.toMatchObject({ code: 'engine_unavailable', retryAfter: 1 });
    r1();
    expect(a.running).toBe(0);
  });
});

describe('admission, drain and metrics on the app', () => {
  const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }], stream: true };

  it('answers overflow with 503 overloaded + retry-after while the slot and queue are full', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 1, pieces: [{ text: 'x' }], gate }));
    const { app, outbox, metrics, deps } = testOrigin(engine, { maxConcurrent: 1, maxQueue: 1 });
    const holder = await app.request(await signedRequest('/v1/chat/completions', { body: chat }));
    const queued = app.request(await signedRequest('/v1/chat/completions', { body: chat }));
    await eventually(() => deps.admission.waiting === 1);
    const over = await app.request(await signedRequest('/v1/chat/completions', { body: chat }));
    expect(over.status).toBe(503);
    expect(over.headers.get('retry-after')).toBe('2');
    expect(await over.json()).toMatchObject({ error: { code: 'overloaded', type: 'server_error' } });
    open();
    expect((await sseEvents(holder)).at(-1)?.data).toBe('[DONE]');
    expect((await sseEvents(await queued)).at(-1)?.data).toBe('[DONE]');
    // The overflow was refused before the engine started it: recorded, but not as a billed request.
    expect(outbox.all.map((e) => e.record.outcome).sort()).toEqual(['finish', 'finish', 'refused']);
    const text = metrics.render({ model: 'motif-test', engine: engine.stats(), admission: deps.admission, state: 'ready' });
    expect(text).toMatch(/^motif_origin_admission_rejected_total 1$/m);
  });

  it('a client that leaves while queued is recorded as abort (its own choice), not as a refusal', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 1, pieces: [{ text: 'x' }], gate }));
    const { app, outbox, deps } = testOrigin(engine, { maxConcurrent: 1, maxQueue: 1 });
    const holder = await app.request(await signedRequest('/v1/chat/completions', { body: chat, requestId: 'holder' }));
    const ac = new AbortController();
    const queued = app.request(await signedRequest('/v1/chat/completions', { body: chat, requestId: 'leaver', signal: ac.signal }));
    await eventually(() => deps.admission.waiting === 1);
    ac.abort();
    expect((await queued).status).toBe(499);
    open();
    await sseEvents(holder);
    expect(outbox.all.map((e) => [e.record.request_id, e.record.outcome, e.record.completion_tokens]).sort()).toEqual([
      ['holder', 'finish', 1],
      ['leaver', 'abort', 0],
    ]);
  });

  it('drain: readyz turns 503, new requests get 503, the running one finishes, drain answers 200', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 1, pieces: [{ text: 'x' }], gate }));
    const { app, lifecycle } = testOrigin(engine, { drainWaitMs: 5_000 });
    expect((await app.request('/readyz')).status).toBe(200);
    const running = await app.request(await signedRequest('/v1/chat/completions', { body: chat }));
    const drain = app.request(await signedRequest('/admin/drain', { method: 'POST', body: {} }));
    await eventually(() => lifecycle.state === 'draining');
    expect((await app.request('/readyz')).status).toBe(503);
    expect(await (await app.request('/readyz')).json()).toEqual({ status: 'unavailable', state: 'draining' });
    const refused = await app.request(await signedRequest('/v1/chat/completions', { body: chat }));
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 'engine_unavailable', message: expect.stringMatching(/draining/) } });
    open();
    expect((await sseEvents(running)).at(-1)?.data).toBe('[DONE]');
    const res = await drain;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ state: 'draining', drained: true, running: 0 });
    expect(engine.drained).toBe(true);
  });

  it('readyz is 503 while starting, and /v1 says the model is loading', async () => {
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 1, pieces: [] }));
    const { app, deps } = testOrigin(engine);
    const { createLifecycle } = await import('./lifecycle.ts');
    const { createOriginApp } = await import('./app.ts');
    const starting = createOriginApp({ ...deps, lifecycle: createLifecycle() });
    expect((await starting.request('/readyz')).status).toBe(503);
    expect((await starting.request('/healthz')).status).toBe(200);
    const res = await starting.request(await signedRequest('/v1/chat/completions', { body: { ...chat, stream: false } }));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { message: expect.stringMatching(/loading/) } });
    expect((await app.request('/readyz')).status).toBe(200);
  });

  it('exposes engine stats under the vLLM names and own counters as Prometheus text', async () => {
    const engine = new ScriptedTestEngine(() => ({ promptTokens: 1, pieces: [{ text: 'x' }] }));
    const { app } = testOrigin(engine);
    await (await app.request(await signedRequest('/v1/chat/completions', { body: { ...chat, stream: false } }))).text();
    await app.request(new Request('http://origin.test/v1/models'));
    await app.request(new Request('http://origin.test/v1/random-path-1'));
    const res = await app.request(metricsRequest());
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const [name, value] of [
      ['vllm:num_requests_waiting', 0],
      ['vllm:num_requests_running', 0],
      ['vllm:kv_cache_usage_perc', 0.25],
      ['vllm:prompt_tokens_total', 100],
      ['vllm:generation_tokens_total', 50],
      ['vllm:prefix_cache_queries_total', 40],
      ['vllm:prefix_cache_hits_total', 30],
    ] as const) {
      expect(text).toContain(`${name}{model_name="motif-test"} ${value}\n`);
    }
    expect(text).toMatch(/^# TYPE vllm:prompt_tokens_total counter$/m);
    expect(text).toContain('motif_origin_requests_total{endpoint="chat/completions",status="200"} 1\n');
    expect(text).toContain('motif_origin_requests_total{endpoint="models",status="401"} 1\n');
    expect(text).toContain('motif_origin_requests_total{endpoint="other",status="401"} 1\n');
    expect(text).not.toContain('random-path');
    expect(text).toContain('motif_origin_usage_records_total{outcome="finish"} 1\n');
    expect(text).toContain('motif_origin_usage_outbox_backlog 1\n');
    expect(text).toContain('motif_origin_state{state="ready"} 1\n');
  });
});
