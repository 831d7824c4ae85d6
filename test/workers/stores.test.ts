import { env as cfEnv } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DO_BINDINGS } from '../../edge/src/adapters/cloudflare/env.ts';
import { doKeyStore, doLedger, doLimiter, doPool, doResponseStore } from '../../edge/src/adapters/cloudflare/ports.ts';
import { seededKeyRecord } from '../../edge/src/keys/key-record.ts';
import { TEST_HASHER, usageRecord } from '../../edge/src/testing/harness.ts';
import type { Env } from '../../edge/src/worker.ts';
import { admission } from './limits-fixtures.ts';

const env = cfEnv as unknown as Env;

describe('Durable Object stores (SQLite storage) through the ports', () => {
  it('binds every DO the Worker expects', () => {
    for (const name of Object.keys(DO_BINDINGS) as (keyof typeof DO_BINDINGS)[]) expect(typeof env[name].idFromName).toBe('function');
  });

  it('keys: active key found, revoked key and unknown hash not', async () => {
    const keys = doKeyStore(env.KEYS);
    const now = Date.now();
    const rec = await seededKeyRecord('sk-motif-do-key-0123456789abcdef', { tenantId: 'do-tenant', createdAt: now }, TEST_HASHER);
    await keys.putKey(rec);
    expect((await keys.findByHash(rec.hash, now))?.principal).toMatchObject({ tenantId: 'do-tenant', keyId: rec.keyId, scopes: ['inference', 'usage:read'] });
    expect(await keys.findByHash('0'.repeat(64), now)).toBeNull();
    await keys.putKey({ ...rec, revokedAt: now });
    expect(await keys.findByHash(rec.hash, now)).toBeNull();
    expect(await keys.findByHash(rec.hash, now - 1)).not.toBeNull();
  });

  it("stored responses: in each tenant's object, never found by another tenant, gone once expired or deleted", async () => {
    const store = doResponseStore(env.LEDGER);
    const now = Date.now();
    const record = { tenantId: 'wr-a', id: 'resp_w1', createdAt: now, expiresAt: now + 60_000, response: '{"id":"resp_w1"}', items: '[]' };
    await store.put(record);
    expect(await store.get('wr-a', 'resp_w1', now)).toEqual(record);
    expect(await store.get('wr-b', 'resp_w1', now)).toBeNull();
    expect(await store.get('wr-a', 'resp_w1', now + 60_000)).toBeNull();
    expect(await store.delete('wr-b', 'resp_w1')).toBe(false);
    expect(await store.delete('wr-a', 'resp_w1')).toBe(true);
    expect(await store.get('wr-a', 'resp_w1', now)).toBeNull();
  });

  it('ledger: per-tenant objects, idempotent inserts, grouped queries', async () => {
    const ledger = doLedger(env.LEDGER, async () => [{ id: 'wt-a' }, { id: 'wt-b' }]);
    const batch = [
      usageRecord({ request_id: 'w1', tenant_id: 'wt-a', model: 'm1' }),
      usageRecord({ request_id: 'w2', tenant_id: 'wt-a', model: 'm2', completion_tokens: 9 }),
      usageRecord({ request_id: 'w1', tenant_id: 'wt-b' }),
    ];
    expect(await ledger.insert(batch, Date.now())).toEqual({ accepted: 3, duplicates: 0 });
    expect(await ledger.insert(batch, Date.now())).toEqual({ accepted: 0, duplicates: 3 });
    const row = { requests: 1, prompt_tokens: 10, cached_tokens: 0, completion_tokens: 5, total_tokens: 15, refused: 0, cache_hits: 0 };
    expect(await ledger.query('wt-a', { groupBy: 'model' })).toEqual([
      { ...row, group: 'm1' },
      { ...row, group: 'm2', completion_tokens: 9, total_tokens: 19 },
    ]);
    expect(await ledger.query('wt-b', { groupBy: 'day' })).toEqual([{ ...row, group: '2026-01-02' }]);
    // Every tenant: each tenant's object asked, groups summed.
    expect(await ledger.query(undefined, { groupBy: 'tenant' })).toEqual([
      { ...row, group: 'wt-a', requests: 2, prompt_tokens: 20, completion_tokens: 14, total_tokens: 34 },
      { ...row, group: 'wt-b' },
    ]);
  });

  it('ledger: a failover bills one record per request id, a refusal none', async () => {
    const ledger = doLedger(env.LEDGER, async () => [{ id: 'wt-f' }]);
    const rec = (replica_id: string, outcome: 'finish' | 'error' | 'refused', completion_tokens: number) =>
      usageRecord({ request_id: 'wf-1', tenant_id: 'wt-f', replica_id, outcome, completion_tokens, prompt_tokens: outcome === 'refused' ? 0 : 10 });
    // The served record arrives first, the cut one after: the served one keeps billing.
    await ledger.insert([rec('r-2', 'finish', 5)], 1);
    await ledger.insert([rec('r-1', 'error', 0), rec('r-0', 'refused', 0)], 2);
    expect(await ledger.query('wt-f', { groupBy: 'hour' })).toEqual([
      { group: '2026-01-02T10:00:00Z', requests: 1, prompt_tokens: 10, cached_tokens: 0, completion_tokens: 5, total_tokens: 15, refused: 1, cache_hits: 0 },
    ]);
    expect(await ledger.hourly(undefined, {}, 10)).toEqual([
      {
        tenant_id: 'wt-f',
        model: 'motif-test',
        hour_start: Date.UTC(2026, 0, 2, 10),
        requests: 1,
        prompt_tokens: 10,
        cached_tokens: 0,
        completion_tokens: 5,
        cache_hits: 0,
      },
    ]);
  });

  it('pool: latest beat wins, older beats are ignored', async () => {
    const pool = doPool(env.POOL, { listCacheMs: 0 });
    const now = Date.now();
    const hb = {
      replica_id: 'wp-1',
      node_id: 'n',
      url: 'http://wp-1.test',
      model: 'm',
      revision: 'r',
      state: 'ready' as const,
      waiting: 1,
      running: 0,
      max_running: 4,
      kv_usage: 0,
      tokens_per_s: 0,
      ts: now,
    };
    await pool.upsert(hb, now);
    await pool.upsert({ ...hb, ts: now - 10, state: 'draining' }, now + 5);
    const entry = (await pool.list(now + 5)).find((e) => e.heartbeat.replica_id === 'wp-1');
    expect(entry).toMatchObject({ heartbeat: { state: 'ready', waiting: 1 }, lastSeen: now, firstSeen: now });
  });

  it('limiter: one object per tenant counts exactly', async () => {
    const limiter = doLimiter(env.LIMITER);
    const now = Date.now();
    const ask = (tenantId: string) => limiter.admit(admission(tenantId, now, { tenantRpm: 2 }));
    const a = await Promise.all([ask('wl-a'), ask('wl-a'), ask('wl-a')]);
    expect(a.map((d) => d.allowed).sort()).toEqual([false, true, true]);
    expect(a.find((d) => !d.allowed)!.retryAfterMs).toBe(30_000);
    expect((await ask('wl-b')).allowed).toBe(true);
  });
});
