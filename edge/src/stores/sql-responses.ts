/**
 * Stored Responses API responses in SQL (Node: the edge's SQLite file; Cloudflare: each tenant's
 * ledger Durable Object). Keyed (tenant_id, id), so a tenant's lookups never see another's
 * responses; expired rows are not returned and are deleted a batch at a time as new ones arrive,
 * so the table stays bounded by what its TTL keeps.
 */
import type { StoredResponse } from '../ports.ts';
import { applySchema, type SqlDb } from './sql.ts';

export const RESPONSES_SCHEMA = `
CREATE TABLE IF NOT EXISTS stored_responses (
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  response TEXT NOT NULL,
  items TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stored_responses_by_expiry ON stored_responses (expires_at)
`;

/** Expired rows deleted per write: bounded work on the request path, enough to keep up. */
const PURGE_BATCH = 64;

type Row = { tenant_id: string; id: string; created_at: number; expires_at: number; response: string; items: string };

/** Create the table if missing. */
export function initResponses(db: SqlDb): void {
  applySchema(db, RESPONSES_SCHEMA);
}

/** Store (or replace) a response, then drop a batch of expired ones. */
export function putResponse(db: SqlDb, r: StoredResponse): void {
  db.transaction(() => {
    db.run(
      'INSERT OR REPLACE INTO stored_responses (tenant_id, id, created_at, expires_at, response, items) VALUES (?, ?, ?, ?, ?, ?)',
      r.tenantId,
      r.id,
      r.createdAt,
      r.expiresAt,
      r.response,
      r.items,
    );
    db.run(
      'DELETE FROM stored_responses WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM stored_responses WHERE expires_at <= ? LIMIT ?)',
      r.createdAt,
      PURGE_BATCH,
    );
  });
}

/** The tenant's response `id`, unless expired at `now`. */
export function getResponse(db: SqlDb, tenantId: string, id: string, now: number): StoredResponse | null {
  const row = db.all<Row>('SELECT * FROM stored_responses WHERE tenant_id = ? AND id = ? AND expires_at > ?', tenantId, id, now)[0];
  return row ? { tenantId: row.tenant_id, id: row.id, createdAt: row.created_at, expiresAt: row.expires_at, response: row.response, items: row.items } : null;
}

/** Delete the tenant's response `id`; whether it existed. */
export function deleteResponse(db: SqlDb, tenantId: string, id: string): boolean {
  return db.all('DELETE FROM stored_responses WHERE tenant_id = ? AND id = ? RETURNING 1 AS gone', tenantId, id).length > 0;
}

/** The store over one database (Node: one SQLite file for every tenant). */
export function sqlResponseStore(db: SqlDb) {
  initResponses(db);
  return {
    put: async (r: StoredResponse) => putResponse(db, r),
    get: async (tenantId: string, id: string, now: number) => getResponse(db, tenantId, id, now),
    delete: async (tenantId: string, id: string) => deleteResponse(db, tenantId, id),
  };
}
