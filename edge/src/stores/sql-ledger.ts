/**
 * The usage ledger in SQL (Node: one SQLite file; Cloudflare: one Durable Object per tenant).
 * Idempotent on (replica_id, request_id): an origin redelivering a batch never double-bills.
 */
import type { UsageRecord, UsageRow } from '#shared/usage.ts';
import type { Ledger, LedgerInsertResult, UsageQueryInput } from '../ports.ts';
import { applySchema, type SqlDb, type SqlValue } from './sql.ts';

export const LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS usage_records (
  replica_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  revision TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (replica_id, request_id)
);
CREATE INDEX IF NOT EXISTS usage_by_tenant_time ON usage_records (tenant_id, finished_at)
`;

/** Create the ledger tables if missing. */
export function initLedger(db: SqlDb): void {
  applySchema(db, LEDGER_SCHEMA);
}

const INSERT = `INSERT INTO usage_records (replica_id, request_id, tenant_id, key_id, model, revision, endpoint,
  prompt_tokens, cached_tokens, completion_tokens, outcome, started_at, finished_at, received_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (replica_id, request_id) DO NOTHING RETURNING 1 AS inserted`;

/** Insert records in one transaction; counts what was new and what was already there. */
export function ledgerInsert(db: SqlDb, records: UsageRecord[], receivedAt: number): LedgerInsertResult {
  return db.transaction(() => {
    let accepted = 0;
    for (const r of records) {
      const rows = db.all(INSERT, r.replica_id, r.request_id, r.tenant_id, r.key_id, r.model, r.revision, r.endpoint,
        r.prompt_tokens, r.cached_tokens, r.completion_tokens, r.outcome, r.started_at, r.finished_at, receivedAt);
      accepted += rows.length;
    }
    return { accepted, duplicates: records.length - accepted };
  });
}

const GROUP_EXPR = {
  day: `strftime('%Y-%m-%d', finished_at / 1000, 'unixepoch')`,
  key: 'key_id',
  model: 'model',
} as const;

/** One tenant's usage grouped by day, key or model. */
export function ledgerQuery(db: SqlDb, tenantId: string, q: UsageQueryInput): UsageRow[] {
  const where = ['tenant_id = ?'];
  const params: SqlValue[] = [tenantId];
  if (q.fromMs !== undefined) {
    where.push('finished_at >= ?');
    params.push(q.fromMs);
  }
  if (q.toMs !== undefined) {
    where.push('finished_at < ?');
    params.push(q.toMs);
  }
  // The group expression comes from a fixed table keyed by a validated enum, never from input.
  const g = GROUP_EXPR[q.groupBy];
  const rows = db.all<{ grp: string; requests: number; prompt_tokens: number; completion_tokens: number }>(
    `SELECT ${g} AS grp, COUNT(*) AS requests, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens
     FROM usage_records WHERE ${where.join(' AND ')} GROUP BY grp ORDER BY grp`,
    ...params,
  );
  return rows.map((r) => ({
    group: String(r.grp),
    requests: Number(r.requests),
    prompt_tokens: Number(r.prompt_tokens),
    completion_tokens: Number(r.completion_tokens),
    total_tokens: Number(r.prompt_tokens) + Number(r.completion_tokens),
  }));
}

/** The Ledger port over a SqlDb (tables created if missing). */
export function sqlLedger(db: SqlDb): Ledger {
  initLedger(db);
  return {
    insert: async (records, receivedAt) => ledgerInsert(db, records, receivedAt),
    query: async (tenantId, q) => ledgerQuery(db, tenantId, q),
  };
}
