/**
 * Tenants and API keys in SQL (Node: SQLite file; Cloudflare: the keys Durable Object). Keys are
 * stored as sha256 hashes plus a visible prefix and last four characters; the secret never is.
 */
import type { ApiKeyRecord, KeyStore, Principal } from '../ports.ts';
import { applySchema, type SqlDb } from './sql.ts';

export const KEYS_SCHEMA = `
CREATE TABLE IF NOT EXISTS tenants (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  disabled_at INTEGER
);
CREATE TABLE IF NOT EXISTS api_keys (
  key_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  last4 TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_by_tenant ON api_keys (tenant_id)
`;

/** Create the key tables if missing. */
export function initKeys(db: SqlDb): void {
  applySchema(db, KEYS_SCHEMA);
}

/** The principal of an active key (not revoked at `now`, tenant not disabled), or null. */
export function keysFindByHash(db: SqlDb, hash: string, now: number): Principal | null {
  const row = db.all<{ key_id: string; tenant_id: string; scopes: string }>(
    `SELECT k.key_id, k.tenant_id, k.scopes FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
     WHERE k.hash = ? AND (k.revoked_at IS NULL OR k.revoked_at > ?) AND (t.disabled_at IS NULL OR t.disabled_at > ?)`,
    hash,
    now,
    now,
  )[0];
  if (!row) return null;
  return { tenantId: row.tenant_id, keyId: row.key_id, scopes: parseScopes(row.scopes) };
}

/** Insert or replace a key; creates the tenant if missing. */
export function keysPut(db: SqlDb, r: ApiKeyRecord): void {
  db.transaction(() => {
    db.run('INSERT INTO tenants (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING', r.tenantId, r.createdAt);
    db.run(
      `INSERT INTO api_keys (key_id, tenant_id, hash, prefix, last4, scopes, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key_id) DO UPDATE SET tenant_id = excluded.tenant_id, hash = excluded.hash, prefix = excluded.prefix,
         last4 = excluded.last4, scopes = excluded.scopes, revoked_at = excluded.revoked_at`,
      r.keyId,
      r.tenantId,
      r.hash,
      r.prefix,
      r.last4,
      JSON.stringify(r.scopes),
      r.createdAt,
      r.revokedAt,
    );
  });
}

/** Every tenant id, sorted. */
export function keysListTenants(db: SqlDb): { id: string }[] {
  return db.all<{ id: string }>('SELECT id FROM tenants ORDER BY id').map((r) => ({ id: String(r.id) }));
}

function parseScopes(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
  } catch {
    return [];
  }
}

/** The KeyStore port over a SqlDb (tables created if missing). */
export function sqlKeyStore(db: SqlDb): KeyStore {
  initKeys(db);
  return {
    findByHash: async (hash, now) => keysFindByHash(db, hash, now),
    putKey: async (record) => keysPut(db, record),
    listTenants: async () => keysListTenants(db),
  };
}
