/**
 * Tenants and API keys in SQL (Node: SQLite file; Cloudflare: the keys Durable Object). Keys are
 * stored as peppered hashes plus a visible prefix and last four characters; the secret never is.
 * Databases from before tenant limits and key expiry gain their columns at open (ADD COLUMN,
 * guarded by table_info), so an existing data directory keeps working.
 */

import { matchEndsAt } from '../keys/key-record.ts';
import { applyTenantUpdate } from '../keys/tenant-record.ts';
import type { ApiKeyRecord, KeyMatch, KeyStore, TenantRecord, TenantUpdate } from '../ports.ts';
import { applySchema, type SqlDb, type SqlValue } from './sql.ts';

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

/** Columns added after the first schema: [table, column, type]. */
const ADDED_COLUMNS: [string, string, string][] = [
  ['tenants', 'name', 'TEXT'],
  ['tenants', 'rpm', 'INTEGER'],
  ['tenants', 'tpm', 'INTEGER'],
  ['tenants', 'max_concurrent', 'INTEGER'],
  ['tenants', 'monthly_tokens', 'INTEGER'],
  ['api_keys', 'name', 'TEXT'],
  ['api_keys', 'rpm', 'INTEGER'],
  ['api_keys', 'tpm', 'INTEGER'],
  ['api_keys', 'expires_at', 'INTEGER'],
  ['api_keys', 'last_used_at', 'INTEGER'],
];

/** Create the key tables if missing and add columns an older database lacks. */
export function initKeys(db: SqlDb): void {
  applySchema(db, KEYS_SCHEMA);
  const existing = new Map<string, Set<string>>();
  for (const [table, column, type] of ADDED_COLUMNS) {
    let cols = existing.get(table);
    if (!cols) {
      cols = new Set(db.all<{ name: string }>(`PRAGMA table_info(${table})`).map((r) => r.name));
      existing.set(table, cols);
    }
    if (!cols.has(column)) db.run(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}

type Row = Record<string, SqlValue>;
const num = (v: SqlValue | undefined): number | null => (typeof v === 'number' ? v : null);
const str = (v: SqlValue | undefined): string | null => (typeof v === 'string' ? v : null);

const TENANT_COLS = 't.id, t.name, t.rpm, t.tpm, t.max_concurrent, t.monthly_tokens, t.created_at, t.disabled_at';
const KEY_COLS = 'k.key_id, k.tenant_id, k.hash, k.prefix, k.last4, k.name, k.scopes, k.rpm, k.tpm, k.created_at, k.expires_at, k.revoked_at, k.last_used_at';

function tenantFrom(r: Row): TenantRecord {
  return {
    id: String(r.id),
    name: str(r.name),
    limits: { rpm: num(r.rpm), tpm: num(r.tpm), maxConcurrent: num(r.max_concurrent) },
    monthlyTokens: num(r.monthly_tokens),
    createdAt: Number(r.created_at),
    disabledAt: num(r.disabled_at),
  };
}

function keyFrom(r: Row): ApiKeyRecord {
  return {
    keyId: String(r.key_id),
    tenantId: String(r.tenant_id),
    hash: String(r.hash),
    prefix: String(r.prefix),
    last4: String(r.last4),
    name: str(r.name),
    scopes: parseScopes(String(r.scopes)),
    limits: { rpm: num(r.rpm), tpm: num(r.tpm) },
    createdAt: Number(r.created_at),
    expiresAt: num(r.expires_at),
    revokedAt: num(r.revoked_at),
    lastUsedAt: num(r.last_used_at),
  };
}

/** The match of a usable key (not revoked or expired at `now`, tenant enabled), or null. */
export function keysFindByHash(db: SqlDb, hash: string, now: number): KeyMatch | null {
  // The primary lookup is the unique index on hash; one row, one join on the tenant's primary key.
  const r = db.all<Row>(
    `SELECT ${KEY_COLS}, t.rpm AS t_rpm, t.tpm AS t_tpm, t.max_concurrent, t.monthly_tokens, t.disabled_at
     FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
     WHERE k.hash = ? AND (k.revoked_at IS NULL OR k.revoked_at > ?) AND (k.expires_at IS NULL OR k.expires_at > ?)
       AND (t.disabled_at IS NULL OR t.disabled_at > ?)`,
    hash,
    now,
    now,
    now,
  )[0];
  if (!r) return null;
  const key = keyFrom(r);
  return {
    hash: key.hash,
    expiresAt: matchEndsAt(key.expiresAt, key.revokedAt, num(r.disabled_at)),
    principal: {
      tenantId: key.tenantId,
      keyId: key.keyId,
      scopes: key.scopes,
      limits: {
        tenant: { rpm: num(r.t_rpm), tpm: num(r.t_tpm), maxConcurrent: num(r.max_concurrent) },
        key: key.limits,
        monthlyTokens: num(r.monthly_tokens),
      },
    },
  };
}

/** Insert or replace a key; creates the tenant if missing. */
export function keysPut(db: SqlDb, r: ApiKeyRecord): void {
  db.transaction(() => {
    db.run('INSERT INTO tenants (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING', r.tenantId, r.createdAt);
    insertKey(db, r, true);
  });
}

function insertKey(db: SqlDb, r: ApiKeyRecord, replace: boolean): void {
  db.run(
    `INSERT INTO api_keys (key_id, tenant_id, hash, prefix, last4, name, scopes, rpm, tpm, created_at, expires_at, revoked_at, last_used_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ${
       replace
         ? `ON CONFLICT (key_id) DO UPDATE SET tenant_id = excluded.tenant_id, hash = excluded.hash, prefix = excluded.prefix,
         last4 = excluded.last4, name = excluded.name, scopes = excluded.scopes, rpm = excluded.rpm, tpm = excluded.tpm,
         expires_at = excluded.expires_at, revoked_at = excluded.revoked_at`
         : ''
     }`,
    r.keyId,
    r.tenantId,
    r.hash,
    r.prefix,
    r.last4,
    r.name,
    JSON.stringify(r.scopes),
    r.limits.rpm,
    r.limits.tpm,
    r.createdAt,
    r.expiresAt,
    r.revokedAt,
    r.lastUsedAt,
  );
}

function parseScopes(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
  } catch {
    return [];
  }
}

export function tenantsGet(db: SqlDb, id: string): TenantRecord | null {
  const r = db.all<Row>(`SELECT ${TENANT_COLS} FROM tenants t WHERE t.id = ?`, id)[0];
  return r ? tenantFrom(r) : null;
}

export function tenantsList(db: SqlDb): TenantRecord[] {
  return db.all<Row>(`SELECT ${TENANT_COLS} FROM tenants t ORDER BY t.id`).map(tenantFrom);
}

export function tenantsCreate(db: SqlDb, t: TenantRecord): boolean {
  return db.transaction(() => {
    if (tenantsGet(db, t.id)) return false;
    db.run(
      'INSERT INTO tenants (id, name, rpm, tpm, max_concurrent, monthly_tokens, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      t.id,
      t.name,
      t.limits.rpm,
      t.limits.tpm,
      t.limits.maxConcurrent,
      t.monthlyTokens,
      t.createdAt,
      t.disabledAt,
    );
    return true;
  });
}

export function tenantsUpdate(db: SqlDb, id: string, u: TenantUpdate, now: number): TenantRecord | null {
  return db.transaction(() => {
    const t = tenantsGet(db, id);
    if (!t) return null;
    const next = applyTenantUpdate(t, u, now);
    db.run(
      'UPDATE tenants SET name = ?, rpm = ?, tpm = ?, max_concurrent = ?, monthly_tokens = ?, disabled_at = ? WHERE id = ?',
      next.name,
      next.limits.rpm,
      next.limits.tpm,
      next.limits.maxConcurrent,
      next.monthlyTokens,
      next.disabledAt,
      id,
    );
    return next;
  });
}

export function tenantsDelete(db: SqlDb, id: string, now: number): boolean {
  return db.transaction(() => {
    if (!tenantsGet(db, id)) return false;
    db.run('UPDATE tenants SET disabled_at = COALESCE(disabled_at, ?) WHERE id = ?', now, id);
    db.run('UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND (revoked_at IS NULL OR revoked_at > ?)', now, id, now);
    return true;
  });
}

export function keysGet(db: SqlDb, keyId: string): ApiKeyRecord | null {
  const r = db.all<Row>(`SELECT ${KEY_COLS} FROM api_keys k WHERE k.key_id = ?`, keyId)[0];
  return r ? keyFrom(r) : null;
}

export function keysList(db: SqlDb, tenantId: string): ApiKeyRecord[] {
  return db.all<Row>(`SELECT ${KEY_COLS} FROM api_keys k WHERE k.tenant_id = ? ORDER BY k.created_at, k.key_id`, tenantId).map(keyFrom);
}

export function keysRevoke(db: SqlDb, keyId: string, now: number): ApiKeyRecord | null {
  // Not a transaction of its own: rotation calls it inside one (DO storage does not nest them).
  db.run('UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND (revoked_at IS NULL OR revoked_at > ?)', now, keyId, now);
  return keysGet(db, keyId);
}

export function keysRotate(db: SqlDb, oldKeyId: string, next: ApiKeyRecord, retireAt: number, now: number): ApiKeyRecord | null {
  return db.transaction(() => {
    if (!keysGet(db, oldKeyId)) return null;
    insertKey(db, next, false);
    if (retireAt <= now) return keysRevoke(db, oldKeyId, now);
    db.run('UPDATE api_keys SET expires_at = ? WHERE key_id = ? AND (expires_at IS NULL OR expires_at > ?)', retireAt, oldKeyId, retireAt);
    return keysGet(db, oldKeyId);
  });
}

export function keysTouch(db: SqlDb, keyId: string, at: number): void {
  db.run('UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND (last_used_at IS NULL OR last_used_at < ?)', at, keyId, at);
}

/** The KeyStore port over a SqlDb (tables created or migrated if needed). */
export function sqlKeyStore(db: SqlDb): KeyStore {
  initKeys(db);
  return {
    findByHash: async (hash, now) => keysFindByHash(db, hash, now),
    putKey: async (record) => keysPut(db, record),
    touchKey: async (keyId, at) => keysTouch(db, keyId, at),
    createTenant: async (t) => tenantsCreate(db, t),
    getTenant: async (id) => tenantsGet(db, id),
    listTenants: async () => tenantsList(db),
    updateTenant: async (id, u, now) => tenantsUpdate(db, id, u, now),
    deleteTenant: async (id, now) => tenantsDelete(db, id, now),
    getKey: async (keyId) => keysGet(db, keyId),
    listKeys: async (tenantId) => keysList(db, tenantId),
    revokeKey: async (keyId, now) => keysRevoke(db, keyId, now),
    rotateKey: async (oldKeyId, next, retireAt, now) => keysRotate(db, oldKeyId, next, retireAt, now),
  };
}
