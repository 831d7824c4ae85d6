import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Database } from '#shared/adapters/node/sqlite-driver.ts';
import { ApiError } from '#shared/errors.ts';
import { seededKeyRecord } from '../../keys/key-record.ts';
import { sqlKeyStore } from '../../stores/sql-keys.ts';
import { sqlLedger } from '../../stores/sql-ledger.ts';
import { initPool, poolList, poolUpsert } from '../../stores/sql-pool.ts';
import { TEST_HASHER, usageRecord } from '../../testing/harness.ts';
import { readyHeartbeat } from '../../testing/internal-calls.ts';
import { openSqlite } from './sqlite.ts';

describe('SQL stores on better-sqlite3', () => {
  it('keys: upsert by key id, revocation, disabled tenant', async () => {
    const h = openSqlite(':memory:');
    const keys = sqlKeyStore(h.db);
    const rec = await seededKeyRecord('sk-motif-sqlite-0123456789abcdef', { tenantId: 't1', createdAt: 1 }, TEST_HASHER);
    await keys.putKey(rec);
    await keys.putKey(rec); // idempotent
    expect((await keys.findByHash(rec.hash, 10))?.principal).toMatchObject({ tenantId: 't1', keyId: rec.keyId, scopes: ['inference', 'usage:read'] });
    await keys.putKey({ ...rec, revokedAt: 20 });
    expect(await keys.findByHash(rec.hash, 19)).not.toBeNull();
    expect(await keys.findByHash(rec.hash, 20)).toBeNull();
    await keys.putKey({ ...rec, revokedAt: null });
    h.db.run('UPDATE tenants SET disabled_at = ? WHERE id = ?', 5, 't1');
    expect(await keys.findByHash(rec.hash, 10)).toBeNull();
    h.close();
  });

  it('ledger: a batch is all-or-nothing and deduplicated', async () => {
    const h = openSqlite(':memory:');
    const ledger = sqlLedger(h.db);
    expect(await ledger.insert([usageRecord({ request_id: 'a' }), usageRecord({ request_id: 'a' })], 1)).toEqual({ accepted: 1, duplicates: 1 });
    // A record breaking a NOT NULL constraint rolls back the whole batch.
    const bad = { ...usageRecord({ request_id: 'c' }), model: null as unknown as string };
    await expect(ledger.insert([usageRecord({ request_id: 'b' }), bad], 1)).rejects.toThrow();
    expect(await ledger.query('acme', { groupBy: 'model' })).toEqual([
      { group: 'motif-test', requests: 1, prompt_tokens: 10, cached_tokens: 0, completion_tokens: 5, total_tokens: 15, refused: 0, cache_hits: 0 },
    ]);
    h.close();
  });

  it('pool: keeps the newest beat and forgets replicas past retention', () => {
    const h = openSqlite(':memory:');
    initPool(h.db);
    const hb = readyHeartbeat('r', 'n', 'http://r', 'm', { revision: 'v', max_running: 1, ts: 100 });
    poolUpsert(h.db, hb, 1000);
    poolUpsert(h.db, { ...hb, ts: 50, state: 'draining' }, 2000);
    expect(poolList(h.db, 2000, 10_000)).toEqual([{ heartbeat: hb, lastSeen: 1000, firstSeen: 1000, drainedAt: null }]);
    poolUpsert(h.db, { ...hb, ts: 200, waiting: 3 }, 3000);
    expect(poolList(h.db, 3000, 10_000)[0]).toMatchObject({ heartbeat: { waiting: 3 }, lastSeen: 3000, firstSeen: 1000 });
    expect(poolList(h.db, 13_001, 10_000)).toEqual([]);
    h.close();
  });

  it('pool: a beat from a clock that stepped back minutes is stored, a beat overtaken in flight is not', () => {
    const h = openSqlite(':memory:');
    initPool(h.db);
    const hb = readyHeartbeat('r', 'n', 'http://r', 'm', { revision: 'v', max_running: 1 });
    poolUpsert(h.db, { ...hb, ts: 300_000 }, 1000);
    poolUpsert(h.db, { ...hb, ts: 298_500, waiting: 1 }, 1500);
    expect(poolList(h.db, 1500, 10_000)[0]).toMatchObject({ heartbeat: { waiting: 0 }, lastSeen: 1000 });
    poolUpsert(h.db, { ...hb, ts: 60_000, waiting: 2 }, 2000);
    expect(poolList(h.db, 2000, 10_000)[0]).toMatchObject({ heartbeat: { waiting: 2, ts: 60_000 }, lastSeen: 2000 });
    h.close();
  });

  it('ledger locked by another process: a quick retryable 503, not a seconds-long stall and a 500', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-sqlite-'));
    const h = openSqlite(join(dir, 'edge.sqlite'));
    const other = new Database(join(dir, 'edge.sqlite'));
    try {
      const ledger = sqlLedger(h.db);
      other.exec('BEGIN IMMEDIATE');
      const t0 = performance.now();
      const err = await ledger.insert([usageRecord({ request_id: 'locked' })], 1).catch((e: unknown) => e);
      // The event loop is blocked while SQLite waits: that wait must stay short.
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ code: 'storage_unavailable', status: 503, retryAfter: 1 });
      other.exec('ROLLBACK');
      expect(await ledger.insert([usageRecord({ request_id: 'locked' })], 1)).toEqual({ accepted: 1, duplicates: 0 });
    } finally {
      other.close();
      h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps statement journals and savepoints in memory, and leaves checkpoints to a worker when asked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'motif-sqlite-pragmas-'));
    try {
      const h = openSqlite(join(dir, 'a.sqlite'), { autoCheckpointPages: 20_000 });
      expect(h.db.all('PRAGMA temp_store')).toEqual([{ temp_store: 2 }]);
      expect(h.db.all('PRAGMA wal_autocheckpoint')).toEqual([{ wal_autocheckpoint: 20_000 }]);
      h.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
