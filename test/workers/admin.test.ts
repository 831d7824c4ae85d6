/**
 * The admin flow on the Worker (workerd, keys in the KeysDO behind the in-isolate cache):
 * create tenant → create key → call → revoke → 401, and rotation with an overlap.
 */
import { exports as cfExports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '#shared/protocol.ts';
import { readyHeartbeat, signedInternalRequest } from '../../edge/src/testing/internal-calls.ts';
import { ORIGIN_OK, WORKERS_ADMIN_TOKEN, WORKERS_NODE_KEY } from './fixtures.ts';

const worker = (cfExports as unknown as { default: { fetch(req: Request): Promise<Response> } }).default;
const BASE = 'http://edge.test';
const MODEL = 'wk-admin-model';

function request(method: string, path: string, key: string | null, body?: unknown): Promise<Response> {
  const headers = new Headers({ 'content-type': 'application/json' });
  if (key) headers.set('authorization', `Bearer ${key}`);
  return worker.fetch(new Request(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
}
const admin = (method: string, path: string, body?: unknown) => request(method, path, WORKERS_ADMIN_TOKEN, body);
const chat = (key: string) => request('POST', '/v1/chat/completions', key, { model: MODEL, messages: [{ role: 'user', content: 'hi' }] });

async function beat(): Promise<void> {
  const hb = readyHeartbeat('wk-admin', 'wk', ORIGIN_OK, MODEL);
  const res = await worker.fetch(await signedInternalRequest(BASE + INTERNAL_PATHS.heartbeat, hb, WORKERS_NODE_KEY, 'wk'));
  expect(res.status).toBe(200);
}

describe('admin API on the Worker', () => {
  it('create tenant → create key → call → revoke → 401', async () => {
    await beat();
    expect((await admin('POST', '/admin/tenants', { id: 'wk-acme', limits: { rpm: 100 } })).status).toBe(201);
    expect((await admin('POST', '/admin/tenants', { id: 'wk-acme' })).status).toBe(409);
    const created = await admin('POST', '/admin/tenants/wk-acme/keys', { name: 'ci' });
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; key: string };
    expect(key.key).toMatch(/^mtf_live_/);
    expect((await chat(key.key)).status).toBe(200);
    const listed = (await (await admin('GET', '/admin/tenants')).json()) as { data: { id: string }[] };
    expect(listed.data.map((t) => t.id)).toContain('wk-acme');
    expect((await admin('DELETE', `/admin/keys/${key.id}`)).status).toBe(200);
    // Revoked through this isolate: its key cache is dropped, so the refusal is immediate here
    // (other isolates within the cache TTL, 10 s).
    expect((await chat(key.key)).status).toBe(401);
  });

  it('rotate with an overlap: both keys work, then only the new one', async () => {
    await beat();
    await admin('POST', '/admin/tenants', { id: 'wk-rot' });
    const old = (await (await admin('POST', '/admin/tenants/wk-rot/keys', {})).json()) as { id: string; key: string };
    expect((await chat(old.key)).status).toBe(200);
    // Both keys are checked inside the overlap, so it must outlast a few requests on a loaded
    // machine; the wait below then starts from the rotation's answer, not from those requests.
    const overlapMs = 3_000;
    await beat(); // the replica stays in rotation (heartbeat TTL 3 s) for the checks inside the overlap
    const rotated = await admin('POST', `/admin/keys/${old.id}/rotate`, { overlap_s: overlapMs / 1000 });
    const rotatedBy = Date.now();
    expect(rotated.status).toBe(201);
    const next = (await rotated.json()) as { key: string; replaces: string };
    expect(next.replaces).toBe(old.id);
    expect((await chat(old.key)).status).toBe(200);
    expect((await chat(next.key)).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, rotatedBy + overlapMs + 100 - Date.now())));
    await beat();
    // The cached match carries the expiry, so the overlap ends on time even from the cache.
    expect((await chat(old.key)).status).toBe(401);
    expect((await chat(next.key)).status).toBe(200);
  });

  it('admits an admin-scoped key and refuses an mtf_ key with a bad checksum', async () => {
    await admin('POST', '/admin/tenants', { id: 'wk-ops' });
    const ops = (await (await admin('POST', '/admin/tenants/wk-ops/keys', { scopes: ['admin'] })).json()) as { key: string };
    expect((await request('GET', '/admin/tenants/wk-ops', ops.key)).status).toBe(200);
    expect((await chat(ops.key)).status).toBe(403);
    const typo = ops.key.slice(0, -1) + (ops.key.endsWith('a') ? 'b' : 'a');
    expect((await request('GET', '/admin/tenants/wk-ops', typo)).status).toBe(401);
  });
});
