import { describe, expect, it } from 'vitest';
import { TEST_KEY, testEdge } from './testing/harness.ts';

const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] };

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
}

describe('edge app: errors are OpenAI JSON', () => {
  it.each([
    { name: 'no key', headers: { authorization: '' }, status: 401, code: 'authentication_error' },
    { name: 'unknown key', headers: { authorization: 'Bearer sk-motif-unknown-000000000000' }, status: 401, code: 'invalid_api_key' },
    { name: 'not bearer', headers: { authorization: `Basic ${TEST_KEY}` }, status: 401, code: 'authentication_error' },
    { name: 'garbage key', headers: { authorization: 'Bearer x' }, status: 401, code: 'invalid_api_key' },
  ])('auth: $name → $status', async ({ headers, status, code }) => {
    const t = await testEdge();
    const res = await t.post('/v1/chat/completions', chat, headers);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    const err = await errorOf(res);
    expect(err.code).toBe(code);
    expect(err.type).toBe('authentication_error');
    expect(err.message).not.toContain('000000000000');
  });

  it.each([
    { name: 'bad JSON', body: '{"model":', status: 400, code: 'invalid_json', param: null },
    { name: 'empty body', body: '', status: 400, code: 'invalid_json', param: null },
    { name: 'missing messages', body: { model: 'motif-test' }, status: 400, code: 'invalid_request_error', param: 'messages' },
    { name: 'bad temperature', body: { ...chat, temperature: 7 }, status: 400, code: 'invalid_request_error', param: 'temperature' },
    { name: 'bad role', body: { ...chat, messages: [{ role: 'wizard', content: 'x' }] }, status: 400, code: 'invalid_request_error', param: 'messages.0.role' },
    { name: 'unknown model', body: { ...chat, model: 'nope' }, status: 404, code: 'model_not_found', param: 'model' },
  ])('request: $name → $status $code', async ({ body, status, code, param }) => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/chat/completions', body);
    expect(res.status).toBe(status);
    const err = await errorOf(res);
    expect(err.code).toBe(code);
    expect(err.param).toBe(param);
    expect(t.origins[0]!.requests).toHaveLength(0);
  });

  it('body too large → 413 before reaching the origin', async () => {
    const t = await testEdge({ deps: { options: { maxBodyBytes: 2048 } } });
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/chat/completions', { ...chat, messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('payload_too_large');
  });

  it('no ready replica → 503 origin_unavailable with retry-after', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!, { state: 'draining' });
    const res = await t.post('/v1/chat/completions', chat);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('3');
    expect((await errorOf(res)).code).toBe('origin_unavailable');
  });

  it('unknown path → 404 JSON, wrong method → 405, both with a request id', async () => {
    const t = await testEdge();
    const a = await t.get('/v2/nothing');
    expect(a.status).toBe(404);
    expect((await errorOf(a)).code).toBe('not_found');
    expect(a.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{28}$/);
    const b = await t.get('/v1/chat/completions');
    expect(b.status).toBe(405);
  });
});

describe('edge app: hostile JSON is a 400, never a 500', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const base = '"model":"motif-test","messages":[{"role":"user","content":"hi"}]';
  it.each([
    {
      name: 'a json_schema nested 100k deep',
      body: `{${base},"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"a":${nested(100_000)}}}}}`,
      code: 'invalid_request_error',
      param: 'response_format',
    },
    {
      name: 'a json_schema with a keyword outside the supported subset',
      body: `{${base},"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"d":{"type":"string","format":"date"}}}}}}`,
      code: 'invalid_request_error',
      param: 'response_format.json_schema.schema',
    },
    { name: 'an unknown field nested 100 deep', body: `{${base},"metadata":${nested(100)}}`, code: 'invalid_request_error', param: 'metadata' },
    { name: 'a number past float range', body: `{${base},"max_tokens":1e400}`, code: 'invalid_request_error', param: 'max_tokens' },
    { name: 'an integer past 2^53', body: `{${base},"seed":${'9'.repeat(40)}}`, code: 'invalid_request_error', param: 'seed' },
  ])('$name → 400 naming $param', async ({ body, code, param }) => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/chat/completions', body);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code, param, type: 'invalid_request_error' });
    expect(t.origins[0]!.requests).toHaveLength(0);
  });

  it('invalid UTF-8 → 400 invalid_json; a lone surrogate escape is text and is served', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const enc = new TextEncoder();
    const invalid = new Uint8Array([...enc.encode(`{${base},"user":"`), 0xff, 0xfe, ...enc.encode('"}')]);
    const res = await t.app.request('/v1/chat/completions', {
      method: 'POST',
      body: invalid,
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_json');
    const lone = await t.post('/v1/chat/completions', '{"model":"motif-test","messages":[{"role":"user","content":"\\ud800"}]}');
    expect(lone.status).toBe(200);
  });
});

describe('edge app: request ids', () => {
  it('echoes a sane incoming id, but sends the origin a unique one', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const first = await t.post('/v1/chat/completions', chat, { 'x-request-id': 'client-abc-1' });
    const second = await t.post('/v1/chat/completions', chat, { 'x-request-id': 'client-abc-1' });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(first.headers.get('x-request-id')).toBe('client-abc-1');
    const upstream = t.origins[0]!.requests.map((r) => r.headers['x-request-id']);
    expect(upstream[0]).toMatch(/^client-abc-1\.[0-9a-f]{12}$/);
    expect(upstream[0]).not.toBe(upstream[1]);
  });

  it.each(['has space', 'x'.repeat(200), '<script>'])('replaces an insane id %#', async (bad) => {
    const t = await testEdge();
    const res = await t.get('/v1/models', { 'x-request-id': bad });
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('is on error responses too', async () => {
    const t = await testEdge();
    const res = await t.post('/v1/chat/completions', chat, { authorization: '', 'x-request-id': 'trace-42' });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toBe('trace-42');
  });
});

describe('edge app: models', () => {
  it('lists models with a replica in rotation; /models/:id 404s otherwise', async () => {
    const t = await testEdge({
      origins: [
        { replicaId: 'r1', model: 'motif-a' },
        { replicaId: 'r2', model: 'org/motif-b' },
      ],
    });
    await t.beat(t.origins[0]!);
    await t.beat(t.origins[1]!, { state: 'starting' });
    const list = (await (await t.get('/v1/models')).json()) as { object: string; data: { id: string; object: string }[] };
    expect(list.object).toBe('list');
    expect(list.data.map((m) => m.id)).toEqual(['motif-a']);
    expect((await t.get('/v1/models/motif-a')).status).toBe(200);
    const missing = await t.get('/v1/models/org/motif-b');
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('model_not_found');
    await t.beat(t.origins[1]!);
    expect(((await (await t.get('/v1/models/org/motif-b')).json()) as { id: string }).id).toBe('org/motif-b');
  });

  it('healthz needs no key and reports the pool', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const res = await t.app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', replicas: { ready: 1, known: 1 } });
  });
});

describe('edge app: rotation follows the configured heartbeat TTL', () => {
  const admin = 'admin-token-0123456789abcdef';
  const profile = { filters: [{ type: 'model-filter' }, { type: 'ready-filter', params: { ttlMs: 10_000 } }], picker: { type: 'least-load-picker' } };

  it('healthz, /admin/pool, /v1/models and routing agree on a replica between the default and the configured TTL', async () => {
    const t = await testEdge({ deps: { schedulerProfile: profile, options: { adminToken: admin } } });
    await t.beat(t.origins[0]!);
    t.clock.advance(5_000); // past the protocol's 3 s, within the profile's 10 s
    expect(await (await t.app.request('/healthz')).json()).toEqual({ status: 'ok', replicas: { ready: 1, known: 1 } });
    const pool = (await (await t.app.request('/admin/pool', { headers: { authorization: `Bearer ${admin}` } })).json()) as { data: { in_rotation: boolean }[] };
    expect(pool.data.map((r) => r.in_rotation)).toEqual([true]);
    expect((await t.get('/v1/models/motif-test')).status).toBe(200);
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);

    t.clock.advance(5_001); // now past the profile's TTL too
    expect(await (await t.app.request('/healthz')).json()).toEqual({ status: 'ok', replicas: { ready: 0, known: 1 } });
    const after = (await (await t.app.request('/admin/pool', { headers: { authorization: `Bearer ${admin}` } })).json()) as {
      data: { in_rotation: boolean }[];
    };
    expect(after.data.map((r) => r.in_rotation)).toEqual([false]);
    expect((await t.get('/v1/models/motif-test')).status).toBe(404);
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(503);
  });
});

describe('edge app: /admin/metrics', () => {
  const admin = 'admin-token-0123456789abcdef';

  it('needs the admin token and renders the pool and the runtime gauges as Prometheus text', async () => {
    const t = await testEdge({ deps: { options: { adminToken: admin }, extraMetrics: () => 'runtime_gauge 1\n' } });
    await t.beat(t.origins[0]!);
    expect((await t.app.request('/admin/metrics')).status).toBe(401);
    expect((await t.app.request('/admin/metrics', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const res = await t.app.request('/admin/metrics', { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    expect(text).toContain('motif_edge_replicas{in_rotation="true"} 1\nmotif_edge_replicas{in_rotation="false"} 0\n');
    expect(text.endsWith('runtime_gauge 1\n')).toBe(true);
  });
});

describe('edge app: rate limits', () => {
  it('renders x-ratelimit headers and answers 429 with retry-after when exhausted', async () => {
    const t = await testEdge({ limits: { requestsPerMinute: 2 } });
    await t.beat(t.origins[0]!);
    const a = await t.post('/v1/chat/completions', chat);
    expect(a.status).toBe(200);
    expect(a.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(a.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect(a.headers.get('x-ratelimit-limit-tokens')).toBe('10000000');
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
    const c = await t.post('/v1/chat/completions', chat);
    expect(c.status).toBe(429);
    expect(Number(c.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await errorOf(c)).code).toBe('rate_limit_exceeded');
    expect(t.origins[0]!.requests).toHaveLength(2);
    t.clock.advance(30_000);
    await t.beat(t.origins[0]!);
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
  });

  it('charges tokens from the origin usage: a tenant in token debt is refused', async () => {
    const t = await testEdge({ limits: { tokensPerMinute: 10 }, origins: [{ replicaId: 'r1', pieces: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] }] });
    await t.beat(t.origins[0]!);
    const first = await t.post('/v1/chat/completions', { ...chat, stream: true });
    await first.text();
    // 5 prompt + 8 completion tokens > 10 per minute.
    const second = await t.post('/v1/chat/completions', chat);
    expect(second.status).toBe(429);
    expect(second.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
  });
});
