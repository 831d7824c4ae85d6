/**
 * The admin usage views on the Node edge: the SQLite ledger behind the app, usage delivered as
 * origins deliver it (signed `/internal/usage`).
 */
import { describe, expect, it } from 'vitest';
import type { UsageExportRow } from '#shared/admin-api.ts';
import { INTERNAL_PATHS } from '#shared/protocol.ts';
import type { UsageRow } from '#shared/usage.ts';
import { openSqlite } from '../../adapters/node/sqlite.ts';
import { sqlLedger } from '../../stores/sql-ledger.ts';
import { testEdge, usageRecord } from '../../testing/harness.ts';
import { FINAL_AFTER_MS } from '../../usage/export.ts';

const ADMIN = 'admin-token-0123456789';
const H10 = Date.UTC(2026, 0, 2, 10);
const H11 = Date.UTC(2026, 0, 2, 11);
const FROM = Date.UTC(2026, 0, 1) / 1000;

async function edgeWithUsage() {
  const t = await testEdge({ deps: { ledger: sqlLedger(openSqlite(':memory:').db), options: { adminToken: ADMIN } } });
  t.clock.set(H11 + 30 * 60_000);
  const res = await t.signedPost(INTERNAL_PATHS.usage, {
    records: [
      usageRecord({ request_id: 'a', finished_at: H10 + 1, cached_tokens: 3 }),
      // A failover: refused by one replica, served by the other; one billed request.
      usageRecord({ request_id: 'b', replica_id: 'r1-a', finished_at: H10 + 2, outcome: 'refused', prompt_tokens: 0, completion_tokens: 0 }),
      usageRecord({ request_id: 'b', finished_at: H10 + 3 }),
      usageRecord({ request_id: 'c', finished_at: H11 + 1, model: 'odd "model", v2' }),
      usageRecord({ request_id: 'd', finished_at: H11 + 2, tenant_id: 'beta', key_id: 'key_b' }),
    ],
  });
  expect(await res.json()).toEqual({ accepted: 5, duplicates: 0 });
  const admin = (path: string) => t.app.request(path, { headers: { authorization: `Bearer ${ADMIN}` } });
  return { t, admin };
}

describe('GET /admin/usage', () => {
  it('groups every tenant (or one) by day, hour, key, model or tenant; refusals apart', async () => {
    const { admin } = await edgeWithUsage();
    const view = async (q: string) => {
      const res = await admin(`/admin/usage?from=${FROM}&${q}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { data: UsageRow[] }).data.map((r) => [r.group, r.requests, r.refused, r.cached_tokens]);
    };
    expect(await view('group_by=tenant')).toEqual([
      ['acme', 3, 1, 3],
      ['beta', 1, 0, 0],
    ]);
    expect(await view('group_by=hour')).toEqual([
      ['2026-01-02T10:00:00Z', 2, 1, 3],
      ['2026-01-02T11:00:00Z', 2, 0, 0],
    ]);
    expect(await view('group_by=hour&tenant=beta')).toEqual([['2026-01-02T11:00:00Z', 1, 0, 0]]);
    expect(await view('group_by=key')).toEqual([
      ['key_1', 3, 1, 3],
      ['key_b', 1, 0, 0],
    ]);
    expect(await view('group_by=day')).toEqual([['2026-01-02', 4, 1, 3]]);
    const body = await (await admin(`/admin/usage?from=${FROM}&to=${FROM + 86400}`)).json();
    expect(body).toMatchObject({ object: 'list', tenant: null, group_by: 'day', from: FROM, to: FROM + 86400, data: [] });
  });

  it.each([
    ['no token', undefined, '', 401],
    ['a wrong token', 'x'.repeat(22), '', 401],
    ['an unknown grouping', ADMIN, '?group_by=week', 400],
    ['an unknown parameter', ADMIN, '?tenants=acme', 400],
    ['a bad tenant id', ADMIN, '?tenant=a%20b', 400],
    ['an empty range', ADMIN, '?from=20&to=10', 400],
    ['a range over 400 days', ADMIN, `?from=${FROM}&to=${FROM + 401 * 86400}`, 400],
  ])('%s → %i', async (_name, token, query, status) => {
    const { t } = await edgeWithUsage();
    for (const path of ['/admin/usage', '/admin/usage/export']) {
      const res = await t.app.request(`${path}${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect(res.status).toBe(status);
      expect(await res.json()).toMatchObject({ error: { message: expect.any(String) } });
    }
  });
});

describe('GET /admin/usage/export', () => {
  it('JSON: one row per tenant × model × hour, final after the grace period, keys stable across calls', async () => {
    const { t, admin } = await edgeWithUsage();
    const rows = async () => ((await (await admin(`/admin/usage/export?from=${FROM}`)).json()) as { data: UsageExportRow[] }).data;
    const first = await rows();
    expect(first.map((r) => [r.hour_start, r.tenant_id, r.model, r.requests, r.total_tokens, r.final])).toEqual([
      ['2026-01-02T10:00:00Z', 'acme', 'motif-test', 2, 30, true],
      ['2026-01-02T11:00:00Z', 'acme', 'odd "model", v2', 1, 15, false],
      ['2026-01-02T11:00:00Z', 'beta', 'motif-test', 1, 15, false],
    ]);
    // A late record for the open hour, then the hour closes: same keys, new sums, now final.
    await t.signedPost(INTERNAL_PATHS.usage, { records: [usageRecord({ request_id: 'late', finished_at: H11 + 5, tenant_id: 'beta' })] });
    t.clock.set(H11 + 3_600_000 + FINAL_AFTER_MS);
    const second = await rows();
    expect(second.map((r) => r.idempotency_key)).toEqual(first.map((r) => r.idempotency_key));
    expect(second.map((r) => [r.requests, r.final])).toEqual([
      [2, true],
      [1, true],
      [2, true],
    ]);
    expect(await (await admin(`/admin/usage/export?from=${FROM}&tenant=beta`)).json()).toMatchObject({ data: [{ tenant_id: 'beta' }] });
  });

  it('CSV: text/csv, a header row, RFC 4180 quoting', async () => {
    const { admin } = await edgeWithUsage();
    const res = await admin(`/admin/usage/export?from=${FROM}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).toMatch(/^idempotency_key,tenant_id,model,hour_start,/);
    expect(lines[2]).toMatch(/^mu_[0-9a-f]{48},acme,"odd ""model"", v2",2026-01-02T11:00:00Z,1,10,0,5,15,0,false$/);
    expect(lines).toHaveLength(5); // header, 3 rows, the empty string after the last CRLF
  });
});
