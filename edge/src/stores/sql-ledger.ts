/**
 * The usage ledger in SQL (Node: one SQLite file; Cloudflare: one Durable Object per tenant).
 * Idempotent on (replica_id, request_id): an origin redelivering a batch never double-bills.
 * Billed once per (tenant_id, request_id): the `billable` flag marks the one record of a request
 * that counts (usage/billable.ts), kept right inside the insert's transaction; both records of a
 * failed-over request belong to one tenant, so they are always in the same database.
 */

import type { UsageRecord, UsageRow } from '#shared/usage.ts';
import { placeholders, USAGE_COLUMN_NAMES, USAGE_KEY_COLUMNS, usageColumnDefinitions, writeUsageColumns } from '#shared/usage-columns.ts';
import type { HourlyUsage, Ledger, LedgerGroupBy, LedgerInsertResult, UsageQueryInput, UsageRange } from '../ports.ts';
import { type BillingCandidate, billableOf, isBillableOutcome, outranks } from '../usage/billable.ts';
import { applySchema, type SqlDb, type SqlValue } from './sql.ts';

// The record's columns come from shared/ (one definition for every usage store); received_at and
// billable are the ledger's own: when the edge accepted the record, and whether it bills.
export const LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS usage_records (
${usageColumnDefinitions(USAGE_COLUMN_NAMES)},
  received_at INTEGER NOT NULL,
  billable INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (${USAGE_KEY_COLUMNS.join(', ')})
);
CREATE INDEX IF NOT EXISTS usage_by_tenant_time ON usage_records (tenant_id, finished_at);
CREATE INDEX IF NOT EXISTS usage_by_request ON usage_records (tenant_id, request_id)
`;

const hasBillableFlag = (db: SqlDb) => db.all<{ name: string }>('PRAGMA table_info(usage_records)').some((c) => c.name === 'billable');

/** Create the ledger tables if missing; bring a ledger from before the `billable` flag up to date. */
export function initLedger(db: SqlDb): void {
  applySchema(db, LEDGER_SCHEMA);
  if (hasBillableFlag(db)) return;
  try {
    db.transaction(() => {
      if (!hasBillableFlag(db)) addBillableFlag(db);
    });
  } catch (err) {
    // Edge processes sharing the file start together: one migrates, the others' transactions
    // fail against its change and find the flag there.
    if (!hasBillableFlag(db)) throw err;
  }
}

/**
 * Older ledgers billed every record: flag them all billable, then, where a request id has more
 * than one record (a failover), keep only the one that outranks the others. Duplicates are rare,
 * so the choice runs in code, with the same rule as new inserts.
 */
function addBillableFlag(db: SqlDb): void {
  db.run('ALTER TABLE usage_records ADD COLUMN billable INTEGER NOT NULL DEFAULT 0');
  db.run(`UPDATE usage_records SET billable = 1 WHERE outcome != 'refused'`);
  const dup = db.all<{ tenant_id: string; request_id: string }>(
    'SELECT tenant_id, request_id FROM usage_records GROUP BY tenant_id, request_id HAVING COUNT(*) > 1',
  );
  for (const d of dup) {
    const best = billableOf(billingCandidates(db, d.tenant_id, d.request_id, false));
    db.run('UPDATE usage_records SET billable = (replica_id = ?) WHERE tenant_id = ? AND request_id = ?', best?.replica_id ?? '', d.tenant_id, d.request_id);
  }
}

function billingCandidates(db: SqlDb, tenantId: string, requestId: string, billableOnly: boolean): BillingCandidate[] {
  return db.all<BillingCandidate & Record<string, SqlValue>>(
    `SELECT replica_id, outcome, completion_tokens FROM usage_records WHERE tenant_id = ? AND request_id = ?${billableOnly ? ' AND billable = 1' : ''}`,
    tenantId,
    requestId,
  );
}

const INSERT = `INSERT INTO usage_records (${USAGE_COLUMN_NAMES.join(', ')}, received_at, billable)
  VALUES (${placeholders(USAGE_COLUMN_NAMES.length + 2)})
  ON CONFLICT (${USAGE_KEY_COLUMNS.join(', ')}) DO NOTHING RETURNING 1 AS inserted`;

/** Insert records in one transaction; counts what was new and what was already there. */
export function ledgerInsert(db: SqlDb, records: UsageRecord[], receivedAt: number): LedgerInsertResult {
  return db.transaction(() => {
    let accepted = 0;
    for (const r of records) {
      const current = isBillableOutcome(r.outcome) ? billingCandidates(db, r.tenant_id, r.request_id, true)[0] : undefined;
      const bills = isBillableOutcome(r.outcome) && (!current || outranks(r, current));
      const inserted = db.all(INSERT, ...writeUsageColumns(r, USAGE_COLUMN_NAMES), receivedAt, bills ? 1 : 0).length;
      accepted += inserted;
      if (inserted && bills && current) {
        db.run('UPDATE usage_records SET billable = 0 WHERE replica_id = ? AND request_id = ?', current.replica_id, r.request_id);
      }
    }
    return { accepted, duplicates: records.length - accepted };
  });
}

// Group expressions come from this fixed table keyed by a validated enum, never from input.
const GROUP_EXPR: Record<LedgerGroupBy, string> = {
  day: `strftime('%Y-%m-%d', finished_at / 1000, 'unixepoch')`,
  hour: `strftime('%Y-%m-%dT%H:00:00Z', finished_at / 1000, 'unixepoch')`,
  key: 'key_id',
  model: 'model',
  tenant: 'tenant_id',
};

function whereClause(tenantId: string | undefined, range: UsageRange): { sql: string; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (tenantId !== undefined) {
    where.push('tenant_id = ?');
    params.push(tenantId);
  }
  if (range.fromMs !== undefined) {
    where.push('finished_at >= ?');
    params.push(range.fromMs);
  }
  if (range.toMs !== undefined) {
    where.push('finished_at < ?');
    params.push(range.toMs);
  }
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

type Sums = { requests: number; prompt_tokens: number; cached_tokens: number; completion_tokens: number };
const BILLED_SUMS = `SUM(billable) AS requests, SUM(billable * prompt_tokens) AS prompt_tokens,
  SUM(billable * cached_tokens) AS cached_tokens, SUM(billable * completion_tokens) AS completion_tokens`;

/** Usage of one tenant (or all) grouped: billed records summed, refusals counted apart. */
export function ledgerQuery(db: SqlDb, tenantId: string | undefined, q: UsageQueryInput): UsageRow[] {
  const w = whereClause(tenantId, q);
  // A group holding only a failover's outranked records has nothing to show.
  const rows = db.all<Sums & { grp: string; refused: number; cache_hits: number }>(
    `SELECT ${GROUP_EXPR[q.groupBy]} AS grp, ${BILLED_SUMS}, SUM(outcome = 'refused') AS refused,
       SUM(billable * (outcome = 'cached')) AS cache_hits
     FROM usage_records ${w.sql} GROUP BY grp HAVING SUM(billable) > 0 OR SUM(outcome = 'refused') > 0 ORDER BY grp`,
    ...w.params,
  );
  return rows.map((r) => ({
    group: String(r.grp),
    requests: Number(r.requests),
    prompt_tokens: Number(r.prompt_tokens),
    cached_tokens: Number(r.cached_tokens),
    completion_tokens: Number(r.completion_tokens),
    total_tokens: Number(r.prompt_tokens) + Number(r.completion_tokens),
    refused: Number(r.refused),
    cache_hits: Number(r.cache_hits),
  }));
}

const HOUR_MS = 3_600_000;

/** Billed usage per tenant × model × UTC hour, sorted by hour, tenant, model; at most `limit` rows. */
export function ledgerHourly(db: SqlDb, tenantId: string | undefined, range: UsageRange, limit: number): HourlyUsage[] {
  const w = whereClause(tenantId, range);
  const rows = db.all<Sums & { tenant_id: string; model: string; hour_start: number; cache_hits: number }>(
    `SELECT tenant_id, model, (finished_at / ${HOUR_MS}) * ${HOUR_MS} AS hour_start, ${BILLED_SUMS},
       SUM(outcome = 'cached') AS cache_hits
     FROM usage_records ${w.sql ? `${w.sql} AND` : 'WHERE'} billable = 1
     GROUP BY tenant_id, model, hour_start ORDER BY hour_start, tenant_id, model LIMIT ?`,
    ...w.params,
    limit,
  );
  return rows.map((r) => ({
    tenant_id: String(r.tenant_id),
    model: String(r.model),
    hour_start: Number(r.hour_start),
    requests: Number(r.requests),
    prompt_tokens: Number(r.prompt_tokens),
    cached_tokens: Number(r.cached_tokens),
    completion_tokens: Number(r.completion_tokens),
    cache_hits: Number(r.cache_hits),
  }));
}

/** The Ledger port over a SqlDb (tables created or brought up to date). */
export function sqlLedger(db: SqlDb): Ledger {
  initLedger(db);
  return {
    insert: async (records, receivedAt) => ledgerInsert(db, records, receivedAt),
    query: async (tenantId, q) => ledgerQuery(db, tenantId, q),
    hourly: async (tenantId, range, limit) => ledgerHourly(db, tenantId, range, limit),
  };
}
