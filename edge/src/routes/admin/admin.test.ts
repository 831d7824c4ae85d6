/**
 * The admin API in-process: tenants and keys through HTTP, and what a created, rotated or
 * revoked key can do on `/v1` afterwards (manual clock: no sleeping).
 */
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../keys/key-format.ts';
import { type TestEdge, testEdge } from '../../testing/harness.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] };

async function edge(): Promise<TestEdge & { admin: (method: string, path: string, body?: unknown, token?: string) => Promise<Response> }> {
  const t = await testEdge({ deps: { options: { adminToken: ADMIN } } });
  await t.beat(t.origins[0]!);
  const admin = async (method: string, path: string, body?: unknown, token = ADMIN) =>
    t.app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  return Object.assign(t, { admin });
}

const call = (t: TestEdge, key: string) => t.post('/v1/chat/completions', chat, { authorization: `Bearer ${key}` });
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; param: string | null; message: string } }).error;

describe('admin API: tenants and keys', () => {
  it('create tenant → create key → call → revoke → 401', async () => {
    const t = await edge();
    const tenant = await t.admin('POST', '/admin/tenants', { id: 'acme-2', name: 'Acme', limits: { rpm: 100 }, quota: { monthly_tokens: 10_000 } });
    expect(tenant.status).toBe(201);
    expect(await tenant.json()).toMatchObject({
      object: 'tenant',
      id: 'acme-2',
      name: 'Acme',
      limits: { rpm: 100 },
      quota: { monthly_tokens: 10_000 },
      disabled_at: null,
    });
    const created = await t.admin('POST', '/admin/tenants/acme-2/keys', { name: 'ci', scopes: ['inference'] });
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; key: string; prefix: string; scopes: string[] };
    expect(key.key).toMatch(/^mtf_live_[0-9A-Za-z]{38}$/);
    expect(key.key.startsWith(key.prefix)).toBe(true);
    expect(key.scopes).toEqual(['inference']);
    expect((await call(t, key.key)).status).toBe(200);
    // The secret is in the create answer only.
    const listed = await (await t.admin('GET', '/admin/tenants/acme-2/keys')).text();
    expect(listed).toContain(key.id);
    expect(listed).not.toContain(key.key);
    // Without usage:read the key may not read usage.
    expect((await t.get('/v1/usage', { authorization: `Bearer ${key.key}` })).status).toBe(403);
    const revoked = await t.admin('DELETE', `/admin/keys/${key.id}`);
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revoked_at: number | null }).revoked_at).not.toBeNull();
    expect((await call(t, key.key)).status).toBe(401);
  });

  it('rotate with an overlap: both keys work, then only the new one', async () => {
    const t = await edge();
    await t.admin('POST', '/admin/tenants', { id: 'rot' });
    const old = (await (await t.admin('POST', '/admin/tenants/rot/keys', { mode: 'test', limits: { rpm: 7 } })).json()) as { id: string; key: string };
    const res = await t.admin('POST', `/admin/keys/${old.id}/rotate`, { overlap_s: 60 });
    expect(res.status).toBe(201);
    const next = (await res.json()) as { id: string; key: string; replaces: string; limits: { rpm: number } };
    expect(next).toMatchObject({ replaces: old.id, limits: { rpm: 7 } });
    expect(next.key).toMatch(/^mtf_test_/);
    expect((await call(t, old.key)).status).toBe(200);
    expect((await call(t, next.key)).status).toBe(200);
    t.clock.advance(60_000);
    await t.beat(t.origins[0]!);
    expect((await call(t, old.key)).status).toBe(401);
    expect((await call(t, next.key)).status).toBe(200);
    // Rotating without an overlap revokes at once; a revoked key cannot be rotated again.
    const third = (await (await t.admin('POST', `/admin/keys/${next.id}/rotate`, {})).json()) as { key: string };
    expect((await call(t, next.key)).status).toBe(401);
    expect((await call(t, third.key)).status).toBe(200);
    expect((await t.admin('POST', `/admin/keys/${next.id}/rotate`, {})).status).toBe(409);
  });

  it('honours expiry, deleting a tenant revokes its keys, and disabling one suspends them', async () => {
    const t = await edge();
    await t.admin('POST', '/admin/tenants', { id: 'exp' });
    const expiresAt = Math.floor(t.clock.now() / 1000) + 30;
    const key = (await (await t.admin('POST', '/admin/tenants/exp/keys', { expires_at: expiresAt })).json()) as { key: string };
    expect((await call(t, key.key)).status).toBe(200);
    expect((await t.admin('PATCH', '/admin/tenants/exp', { disabled: true })).status).toBe(200);
    expect((await call(t, key.key)).status).toBe(401);
    expect((await t.admin('PATCH', '/admin/tenants/exp', { disabled: false, limits: { tpm: 5 } })).status).toBe(200);
    expect((await call(t, key.key)).status).toBe(200);
    t.clock.advance(31_000);
    await t.beat(t.origins[0]!);
    expect((await call(t, key.key)).status).toBe(401);
    const live = (await (await t.admin('POST', '/admin/tenants/exp/keys', {})).json()) as { key: string };
    const deleted = await t.admin('DELETE', '/admin/tenants/exp');
    expect(await deleted.json()).toMatchObject({ id: 'exp', deleted: true });
    expect((await call(t, live.key)).status).toBe(401);
    expect(((await (await t.admin('GET', '/admin/tenants/exp')).json()) as { disabled_at: number | null }).disabled_at).not.toBeNull();
  });

  it.each([
    { name: 'missing id', method: 'POST', path: '/admin/tenants', body: {}, status: 400, param: 'id' },
    { name: 'bad id', method: 'POST', path: '/admin/tenants', body: { id: 'a b' }, status: 400, param: 'id' },
    { name: 'negative rpm', method: 'POST', path: '/admin/tenants', body: { id: 'x', limits: { rpm: -1 } }, status: 400, param: 'limits.rpm' },
    { name: 'unknown field', method: 'POST', path: '/admin/tenants', body: { id: 'x', plan: 'gold' }, status: 400, param: null },
    { name: 'bad JSON', method: 'POST', path: '/admin/tenants', body: '{"id":', status: 400, param: null },
    { name: 'duplicate tenant', method: 'POST', path: '/admin/tenants', body: { id: 'acme' }, status: 409, param: 'id' },
    { name: 'unknown tenant', method: 'GET', path: '/admin/tenants/nope', status: 404, param: 'id' },
    { name: 'patch unknown tenant', method: 'PATCH', path: '/admin/tenants/nope', body: {}, status: 404, param: 'id' },
    { name: 'keys of unknown tenant', method: 'POST', path: '/admin/tenants/nope/keys', body: {}, status: 404, param: 'id' },
    { name: 'unknown scope', method: 'POST', path: '/admin/tenants/acme/keys', body: { scopes: ['root'] }, status: 400, param: 'scopes.0' },
    { name: 'expiry in the past', method: 'POST', path: '/admin/tenants/acme/keys', body: { expires_at: 1 }, status: 400, param: 'expires_at' },
    { name: 'huge unknown id', method: 'GET', path: `/admin/tenants/${'a'.repeat(5000)}`, status: 404, param: 'id' },
    { name: 'revoke unknown key', method: 'DELETE', path: '/admin/keys/key_nope', status: 404, param: 'key_id' },
    { name: 'rotate unknown key', method: 'POST', path: '/admin/keys/key_nope/rotate', body: {}, status: 404, param: 'key_id' },
  ])('$name → $status', async ({ method, path, body, status, param }) => {
    const t = await edge();
    const res = await t.admin(method, path, body);
    expect(res.status).toBe(status);
    const err = await errorOf(res);
    if (param !== null) expect(err.param).toBe(param);
    expect(err.message.length).toBeLessThan(300);
  });

  it('admits the admin token or an admin-scoped key, nothing else', async () => {
    const t = await edge();
    expect((await t.app.request('/admin/tenants')).status).toBe(401);
    expect((await t.admin('GET', '/admin/tenants', undefined, 'wrong-token-0123456789')).status).toBe(401);
    // The test key has inference and usage:read only.
    expect((await t.admin('GET', '/admin/tenants', undefined, 'sk-motif-test-0123456789abcdefABCDEF')).status).toBe(403);
    const adminKey = (await (await t.admin('POST', '/admin/tenants/acme/keys', { scopes: ['admin'] })).json()) as { key: string };
    const listed = await t.admin('GET', '/admin/tenants', undefined, adminKey.key);
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { data: { id: string }[] }).data.map((d) => d.id)).toEqual(['acme']);
    expect((await t.admin('GET', '/admin/pool', undefined, adminKey.key)).status).toBe(200);
  });
});

describe('API key authentication', () => {
  it('refuses an mtf_ key with a bad checksum without a store lookup', async () => {
    const t = await edge();
    let lookups = 0;
    const find = t.keys.findByHash.bind(t.keys);
    t.keys.findByHash = (h, n) => {
      lookups++;
      return find(h, n);
    };
    const key = generateKey();
    const typo = `${key.slice(0, 20)}${key[20] === 'a' ? 'b' : 'a'}${key.slice(21)}`;
    expect((await call(t, typo)).status).toBe(401);
    expect((await call(t, key)).status).toBe(401); // well-formed but unknown: looked up
    expect(lookups).toBe(1);
  });

  it('records last_used_at at most once a minute per key', async () => {
    const t = await edge();
    const created = (await (await t.admin('POST', '/admin/tenants/acme/keys', {})).json()) as { id: string; key: string };
    let touches = 0;
    const touch = t.keys.touchKey.bind(t.keys);
    t.keys.touchKey = (id, at) => {
      touches++;
      return touch(id, at);
    };
    const start = t.clock.now();
    for (let i = 0; i < 5; i++) expect((await call(t, created.key)).status).toBe(200);
    expect(touches).toBe(1);
    t.clock.advance(60_000);
    await t.beat(t.origins[0]!);
    expect((await call(t, created.key)).status).toBe(200);
    expect(touches).toBe(2);
    const listed = (await (await t.admin('GET', '/admin/tenants/acme/keys')).json()) as { data: { id: string; last_used_at: number | null }[] };
    expect(listed.data.find((k) => k.id === created.id)?.last_used_at).toBe(Math.floor((start + 60_000) / 1000));
  });
});
