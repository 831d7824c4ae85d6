import { env as cfEnv, exports as cfExports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { HEADERS, type Heartbeat, INTERNAL_PATHS } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, sign } from '#shared/signing.ts';
import { readSse } from '#shared/sse.ts';
import { doKeyStore } from '../../edge/src/adapters/cloudflare/ports.ts';
import { newTenant } from '../../edge/src/keys/tenant-record.ts';
import { usageRecord } from '../../edge/src/testing/harness.ts';
import { readyHeartbeat } from '../../edge/src/testing/internal-calls.ts';
import type { Env } from '../../edge/src/worker.ts';
import { ORIGIN_DEAD, ORIGIN_OK, WORKERS_ADMIN_TOKEN, WORKERS_DEV_KEY, WORKERS_NODE_KEY, WORKERS_SECRET } from './fixtures.ts';

// The Worker's default export, as the runtime calls it (same isolate, real DO bindings).
const worker = (cfExports as unknown as { default: { fetch(req: Request): Promise<Response> } }).default;
const env = cfEnv as unknown as { MOTIF_ORIGIN_SECRET: string };
const BASE = 'http://edge.test';

function call(path: string, init: RequestInit = {}, key: string | null = WORKERS_DEV_KEY): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key) headers.set('authorization', `Bearer ${key}`);
  // A string body alone would be sent as text/plain, which the edge refuses with 415.
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return worker.fetch(new Request(BASE + path, { ...init, headers }));
}

async function signedPost(path: string, body: unknown, secret = WORKERS_NODE_KEY): Promise<Response> {
  const text = JSON.stringify(body);
  const requestId = crypto.randomUUID();
  const sig = await sign({ method: 'POST', path, requestId, tenantId: 'wk', body: text }, secret);
  return call(path, { method: 'POST', body: text, headers: { [HEADERS.requestId]: requestId, [HEADERS.tenantId]: 'wk', [SIGNATURE_HEADER]: sig } }, null);
}

function beat(replica: string, url: string, model: string, o: Partial<Heartbeat> = {}): Promise<Response> {
  return signedPost(INTERNAL_PATHS.heartbeat, readyHeartbeat(replica, 'wk', url, model, o));
}

function chat(model: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return call('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }) });
}

describe('the Worker app inside workerd', () => {
  it('uses the configured bindings', () => {
    expect(env.MOTIF_ORIGIN_SECRET).toBe(WORKERS_SECRET);
  });

  it('serves /openapi.json (zod → JSON Schema inside workerd) with no key', async () => {
    const res = await call('/openapi.json', {}, null);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ openapi: '3.1.0', servers: [{ url: BASE }] });
  });

  it('healthz, and OpenAI-shaped 401 for an unknown key', async () => {
    expect((await call('/healthz', {}, null)).status).toBe(200);
    const res = await call('/v1/models', {}, 'sk-motif-not-a-key-0000000000');
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { type: 'authentication_error', code: 'invalid_api_key' } });
  });

  it('rejects an internal call signed with the wrong secret', async () => {
    const res = await signedPost(INTERNAL_PATHS.heartbeat, {}, { kid: 'k1', secret: 'wrong-secret-0123456789' });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_signature' } });
  });

  it('streams a chat completion from a heartbeat-registered origin, usage stripped', async () => {
    expect((await beat('wk-ok', ORIGIN_OK, 'wk-model')).status).toBe(200);
    const models = (await (await call('/v1/models')).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toContain('wk-model');
    const res = await chat('wk-model', { stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('600');
    const events = [];
    for await (const ev of readSse(res.body!)) events.push(ev);
    expect(events.at(-1)!.data).toBe('[DONE]');
    expect(events.some((e) => e.data.includes('"usage"'))).toBe(false);
    expect(events.map((e) => e.data).join('')).toContain('world');
  });

  it('serves /v1/responses, plain and streamed, translated onto chat inside workerd', async () => {
    await beat('wk-ok-resp', ORIGIN_OK, 'wk-resp');
    const body = { model: 'wk-resp', input: 'hi' };
    const plain = await call('/v1/responses', { method: 'POST', body: JSON.stringify(body) });
    expect(plain.status).toBe(200);
    expect(await plain.json()).toMatchObject({
      object: 'response',
      status: 'completed',
      output_text: 'Hello world',
      usage: { total_tokens: expect.any(Number) },
    });
    const streamed = await call('/v1/responses', { method: 'POST', body: JSON.stringify({ ...body, stream: true }) });
    const events = [];
    for await (const ev of readSse(streamed.body!)) events.push(ev);
    expect(events[0]?.event).toBe('response.created');
    expect(events.at(-1)?.event).toBe('response.completed');
    expect(JSON.parse(events.at(-1)!.data).response.output_text).toBe('Hello world');
  });

  it('fails over from a dead replica before the first byte', async () => {
    await beat('wk-dead', ORIGIN_DEAD, 'wk-failover');
    await beat('wk-ok-2', ORIGIN_OK, 'wk-failover', { waiting: 9 });
    const res = await chat('wk-failover');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('Hello world');
  });

  it('unknown model → 404, no ready replica → 503 with retry-after', async () => {
    expect((await chat('wk-nope')).status).toBe(404);
    await beat('wk-draining', ORIGIN_OK, 'wk-drained', { state: 'draining' });
    const res = await chat('wk-drained');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
  });

  it('answers a json_schema nested 100k deep with a 400 naming response_format', async () => {
    await beat('wk-ok-deep', ORIGIN_OK, 'wk-deep');
    const depth = 100_000;
    const schema = `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const body = `{"model":"wk-deep","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${schema}}}}`;
    const res = await call('/v1/chat/completions', { method: 'POST', body });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'response_format' } });
  });

  it('ingests usage idempotently into the tenant ledger and reports it', async () => {
    const records = [
      usageRecord({ request_id: 'wu-1', tenant_id: 'dev', replica_id: 'wk-ok' }),
      usageRecord({ request_id: 'wu-2', tenant_id: 'dev', model: 'other', replica_id: 'wk-ok' }),
    ];
    expect(await (await signedPost(INTERNAL_PATHS.usage, { records })).json()).toEqual({ accepted: 2, duplicates: 0 });
    expect(await (await signedPost(INTERNAL_PATHS.usage, { records })).json()).toEqual({ accepted: 0, duplicates: 2 });
    const usage = (await (await call('/v1/usage?group_by=model')).json()) as { data: { group: string; requests: number }[] };
    expect(usage.data.map((r) => [r.group, r.requests])).toEqual([
      ['motif-test', 1],
      ['other', 1],
    ]);
  });

  it("admin usage views ask every tenant's ledger object: grouped view and hourly export", async () => {
    // A second tenant the key store knows (the views list tenants from it).
    const created = await doKeyStore((cfEnv as unknown as Env).KEYS).createTenant(newTenant({ id: 'wa-beta', createdAt: Date.now() }));
    expect(created).toBe(true);
    const h10 = Date.UTC(2025, 5, 1, 10);
    const records = [
      usageRecord({ request_id: 'wa-1', tenant_id: 'dev', replica_id: 'wk-ok', finished_at: h10 + 1, cached_tokens: 2 }),
      // A failover: refused by one replica, served by another; billed once.
      usageRecord({
        request_id: 'wa-2',
        tenant_id: 'dev',
        replica_id: 'wk-busy',
        finished_at: h10 + 2,
        outcome: 'refused',
        prompt_tokens: 0,
        completion_tokens: 0,
      }),
      usageRecord({ request_id: 'wa-2', tenant_id: 'dev', replica_id: 'wk-ok', finished_at: h10 + 3 }),
      usageRecord({ request_id: 'wa-3', tenant_id: 'wa-beta', replica_id: 'wk-ok', finished_at: h10 + 3_600_000, model: 'm,"x"' }),
    ];
    expect(await (await signedPost(INTERNAL_PATHS.usage, { records })).json()).toEqual({ accepted: 4, duplicates: 0 });
    const admin = (path: string, token = WORKERS_ADMIN_TOKEN) => worker.fetch(new Request(BASE + path, { headers: { authorization: `Bearer ${token}` } }));
    const range = `from=${h10 / 1000}&to=${h10 / 1000 + 86400}`;

    type Row = { group: string; requests: number; refused: number };
    const byTenant = (await (await admin(`/admin/usage?${range}&group_by=tenant`)).json()) as { data: Row[] };
    expect(byTenant.data.map((r) => [r.group, r.requests, r.refused])).toEqual([
      ['dev', 2, 1],
      ['wa-beta', 1, 0],
    ]);
    const byHour = (await (await admin(`/admin/usage?${range}&group_by=hour`)).json()) as { data: Row[] };
    expect(byHour.data.map((r) => [r.group, r.requests])).toEqual([
      ['2025-06-01T10:00:00Z', 2],
      ['2025-06-01T11:00:00Z', 1],
    ]);

    const exported = async () => ((await (await admin(`/admin/usage/export?${range}`)).json()) as { data: Record<string, unknown>[] }).data;
    const rows = await exported();
    expect(rows.map((r) => [r.hour_start, r.tenant_id, r.model, r.requests, r.cached_tokens, r.final])).toEqual([
      ['2025-06-01T10:00:00Z', 'dev', 'motif-test', 2, 2, true],
      ['2025-06-01T11:00:00Z', 'wa-beta', 'm,"x"', 1, 0, true],
    ]);
    expect((await exported()).map((r) => r.idempotency_key)).toEqual(rows.map((r) => r.idempotency_key));
    const csv = await admin(`/admin/usage/export?${range}&format=csv&tenant=wa-beta`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await csv.text()).split('\r\n')[1]).toBe(`${rows[1]?.idempotency_key},wa-beta,"m,""x""",2025-06-01T11:00:00Z,1,10,0,5,15,0,true`);
    expect((await admin('/admin/usage', 'not-the-admin-token-123')).status).toBe(401);
  });
});
