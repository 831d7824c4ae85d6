/**
 * The usage ledger in SQL (Node: one SQLite file; Cloudflare: one Durable Object per tenant).
 * Idempotent on (replica_id, request_id): an origin redelivering a batch never double-bills.
 */

import type { UsageRecord, UsageRow } from '#shared/usage.ts';
import { placeholders, USAGE_COLUMN_NAMES, USAGE_KEY_COLUMNS, usageColumnDefinitions, writeUsageColumns } from '#shared/usage-columns.ts';
import type { Ledger, LedgerInsertResult, UsageQueryInput } from '../ports.ts';
import { applySchema, type SqlDb, type SqlValue } from './sql.ts';

// The record's columns come from shared/ (one definition for every usage store); received_at is
// the ledger's own: when the edge accepted the record.
export const LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS usage_records (
${usageColumnDefinitions(USAGE_COLUMN_NAMES)},
  received_at INTEGER NOT NULL,
  PRIMARY KEY (${USAGE_KEY_COLUMNS.join(', ')})
);
CREATE INDEX IF NOT EXISTS usage_by_tenant_time ON usage_records (tenant_id, finished_at)
`;

/** Create the ledger tables if missing. */
export function initLedger(db: SqlDb): void {
  applySchema(db, LEDGER_SCHEMA);
}

const INSERT = `INSERT INTO usage_records (${USAGE_COLUMN_NAMES.join(', ')}, received_at)
  VALUES (${placeholders(USAGE_COLUMN_NAMES.length + 1)})
  ON CONFLICT (${USAGE_KEY_COLUMNS.join(', ')}) DO NOTHING RETURNING 1 AS inserted`;

/** Insert records in one transaction; counts what was new and what was already there. */
export function ledgerInsert(db: SqlDb, records: UsageRecord[], receivedAt: number): LedgerInsertResult {
  return db.transaction(() => {
    let accepted = 0;
    for (const r of records) {
      const rows = db.all(INSERT, ...writeUsageColumns(r, USAGE_COLUMN_NAMES), receivedAt);
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
