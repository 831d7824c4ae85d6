/**
 * The KeyStore contract, run against the SQL store (better-sqlite3) and the in-memory one, and
 * the migration of a key database created before tenant limits and key expiry existed.
 */
import { describe, expect, it } from 'vitest';
import { memoryKeyStore } from '../adapters/memory/key-store.ts';
import { openSqlite } from '../adapters/node/sqlite.ts';
import { newKey, seededKeyRecord } from '../keys/key-record.ts';
import { newTenant } from '../keys/tenant-record.ts';
import type { KeyStore } from '../ports.ts';
import { TEST_HASHER } from '../testing/harness.ts';
import { applySchema } from './sql.ts';
import { sqlKeyStore } from './sql-keys.ts';

const stores: { name: string; make: () => KeyStore }[] = [
  { name: 'sql', make: () => sqlKeyStore(openSqlite(':memory:').db) },
  { name: 'memory', make: () => memoryKeyStore() },
];

describe.each(stores)('KeyStore contract: $name', ({ make }) => {
  it('creates, lists, updates and soft-deletes tenants', async () => {
    const keys = make();
    expect(await keys.createTenant(newTenant({ id: 'b', createdAt: 1, limits: { rpm: 10 } }))).toBe(true);
    expect(await keys.createTenant(newTenant({ id: 'a', name: 'A', createdAt: 2, monthlyTokens: 1000 }))).toBe(true);
    expect(await keys.createTenant(newTenant({ id: 'a', createdAt: 3 }))).toBe(false);
    expect((await keys.listTenants()).map((t) => t.id)).toEqual(['a', 'b']);
    expect(await keys.getTenant('b')).toMatchObject({ limits: { rpm: 10, tpm: null, maxConcurrent: null }, monthlyTokens: null, disabledAt: null });
    const updated = await keys.updateTenant('b', { name: 'Bee', limits: { tpm: 500, rpm: null }, monthlyTokens: 7, disabled: true }, 50);
    expect(updated).toMatchObject({ name: 'Bee', limits: { rpm: null, tpm: 500, maxConcurrent: null }, monthlyTokens: 7, disabledAt: 50 });
    expect(await keys.getTenant('b')).toEqual(updated);
    expect((await keys.updateTenant('b', { disabled: false }, 60))?.disabledAt).toBeNull();
    expect(await keys.updateTenant('nope', {}, 1)).toBeNull();
    expect(await keys.deleteTenant('nope', 1)).toBe(false);
  });

  it('finds a key by hash with its tenant and key limits, until revoked, expired or the tenant is deleted', async () => {
    const keys = make();
    await keys.createTenant(newTenant({ id: 't', createdAt: 0, limits: { rpm: 5, tpm: 6, maxConcurrent: 2 }, monthlyTokens: 99 }));
    const { record } = await newKey({ tenantId: 't', name: 'ci', limits: { rpm: 1 }, expiresAt: 1000, createdAt: 0 }, TEST_HASHER);
    await keys.putKey(record);
    const match = await keys.findByHash(record.hash, 10);
    expect(match).toEqual({
      hash: record.hash,
      expiresAt: 1000,
      principal: {
        tenantId: 't',
        keyId: record.keyId,
        scopes: ['inference', 'usage:read'],
        limits: { tenant: { rpm: 5, tpm: 6, maxConcurrent: 2 }, key: { rpm: 1, tpm: null }, monthlyTokens: 99 },
      },
    });
    expect(await keys.findByHash(record.hash, 1000)).toBeNull();
    expect(await keys.findByHash('0'.repeat(64), 10)).toBeNull();
    await keys.touchKey(record.keyId, 20);
    await keys.touchKey(record.keyId, 15); // an older touch never moves it back
    expect((await keys.getKey(record.keyId))?.lastUsedAt).toBe(20);
    expect((await keys.revokeKey(record.keyId, 30))?.revokedAt).toBe(30);
    expect((await keys.revokeKey(record.keyId, 40))?.revokedAt).toBe(30);
    expect(await keys.findByHash(record.hash, 30)).toBeNull();
    expect(await keys.revokeKey('key_nope', 1)).toBeNull();

    const other = (await newKey({ tenantId: 't', createdAt: 1 }, TEST_HASHER)).record;
    await keys.putKey(other);
    expect(await keys.deleteTenant('t', 50)).toBe(true);
    expect(await keys.findByHash(other.hash, 51)).toBeNull();
    expect((await keys.listKeys('t')).map((k) => [k.keyId, k.revokedAt])).toEqual([
      [record.keyId, 30],
      [other.keyId, 50],
    ]);
    expect((await keys.getTenant('t'))?.disabledAt).toBe(50);
  });

  it('rotates: the new key works at once, the old one until the overlap ends (or not at all)', async () => {
    const keys = make();
    await keys.createTenant(newTenant({ id: 't', createdAt: 0 }));
    const old = (await newKey({ tenantId: 't', createdAt: 0 }, TEST_HASHER)).record;
    await keys.putKey(old);
    const next = (await newKey({ tenantId: 't', createdAt: 100 }, TEST_HASHER)).record;
    expect((await keys.rotateKey(old.keyId, next, 200, 100))?.expiresAt).toBe(200);
    expect(await keys.findByHash(old.hash, 199)).not.toBeNull();
    expect(await keys.findByHash(old.hash, 200)).toBeNull();
    expect(await keys.findByHash(next.hash, 200)).not.toBeNull();
    const third = (await newKey({ tenantId: 't', createdAt: 300 }, TEST_HASHER)).record;
    expect((await keys.rotateKey(next.keyId, third, 300, 300))?.revokedAt).toBe(300);
    expect(await keys.findByHash(next.hash, 300)).toBeNull();
    expect(await keys.rotateKey('key_nope', third, 1, 1)).toBeNull();
  });
});

describe('sql key store migration', () => {
  it('opens a database from before tenant limits and key expiry, keeping its rows', async () => {
    const h = openSqlite(':memory:');
    applySchema(
      h.db,
      `CREATE TABLE tenants (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, disabled_at INTEGER);
       CREATE TABLE api_keys (key_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), hash TEXT NOT NULL UNIQUE,
         prefix TEXT NOT NULL, last4 TEXT NOT NULL, scopes TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)`,
    );
    const rec = await seededKeyRecord('sk-motif-old-0123456789abcdef', { tenantId: 'old', createdAt: 1 }, TEST_HASHER);
    h.db.run('INSERT INTO tenants (id, created_at) VALUES (?, ?)', 'old', 1);
    h.db.run(
      'INSERT INTO api_keys (key_id, tenant_id, hash, prefix, last4, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      rec.keyId,
      'old',
      rec.hash,
      rec.prefix,
      rec.last4,
      '["inference","usage"]',
      1,
    );
    const keys = sqlKeyStore(h.db);
    sqlKeyStore(h.db); // a second open finds every column present
    expect((await keys.findByHash(rec.hash, 2))?.principal).toMatchObject({ tenantId: 'old', scopes: ['inference', 'usage'] });
    expect(await keys.getTenant('old')).toMatchObject({ name: null, limits: { rpm: null }, monthlyTokens: null });
    h.close();
  });
});
