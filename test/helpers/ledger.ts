/**
 * The usage ledger as a fault test audits it: the Node edge's SQLite ledger read directly (WAL
 * lets a reader in beside the edge's writes), counted by request id against what the clients saw.
 * Lost = a request a client saw served with no record; duplicated = a request id with more than
 * one billable record (the ledger's `billable` flag: one per tenant and request id). The ledger's
 * key is (replica, request), so two replicas can each record one request: a replica that refused
 * it before running it (outcome `refused`) or died before handing out a token leaves a record
 * beside the one of the replica the edge failed it over to, which must be the billable one:
 * counted apart (`unbilledExtra`), not as a duplicate.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Database, type SqliteDatabase } from '#shared/adapters/node/sqlite-driver.ts';

export interface LedgerRow {
  request_id: string;
  replica_id: string;
  outcome: string;
  prompt_tokens: number;
  completion_tokens: number;
  /** 1 for the record that bills its request id, else 0. */
  billable: number;
}

/** The edge's ledger file in a test stack's data dir. */
export const ledgerFile = (dataDir: string) => join(dataDir, 'edge', 'edge.sqlite');

/** Every ledger row (empty while the ledger does not exist yet). */
export function readLedger(file: string): LedgerRow[] {
  let db: SqliteDatabase;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return [];
  }
  try {
    db.pragma('busy_timeout = 2000');
    return db.prepare('SELECT request_id, replica_id, outcome, prompt_tokens, completion_tokens, billable FROM usage_records').all() as LedgerRow[];
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return [];
    throw err;
  } finally {
    db.close();
  }
}

export interface LedgerAudit {
  /** Served requests without a record. */
  lost: string[];
  /** Request ids with more than one billable record (billed twice). */
  duplicated: string[];
  /** Records that do not bill beside another record of the same request id. */
  unbilledExtra: number;
  /** Served requests whose billable record is not `finish` (a served request billed as cut). */
  wrongOutcome: string[];
  /** Records of requests a replica refused before generating (never billed). */
  refused: number;
  rows: number;
}

/** Count by request id: every id in `served` must bill a `finish` record, no id two billing records. */
export function auditLedger(rows: readonly LedgerRow[], served: Iterable<string>): LedgerAudit {
  const byId = new Map<string, LedgerRow[]>();
  for (const r of rows) byId.set(r.request_id, [...(byId.get(r.request_id) ?? []), r]);
  const lost: string[] = [];
  const wrongOutcome: string[] = [];
  for (const id of served) {
    const recs = byId.get(id);
    if (!recs) lost.push(id);
    else if (!recs.some((r) => r.billable === 1 && r.outcome === 'finish')) wrongOutcome.push(id);
  }
  const duplicated = [...byId].filter(([, recs]) => recs.filter((r) => r.billable === 1).length > 1).map(([id]) => id);
  let unbilledExtra = 0;
  for (const recs of byId.values()) if (recs.length > 1) unbilledExtra += recs.filter((r) => r.billable !== 1).length;
  const refused = rows.filter((r) => r.outcome === 'refused').length;
  return { lost, duplicated, wrongOutcome, unbilledExtra, refused, rows: rows.length };
}

/** An origin whose /metrics a test reads: its URL and, when /metrics is token-protected, the token. */
export interface OriginMetrics {
  url: string;
  metricsToken?: string | undefined;
}

/** Undelivered usage records an origin reports on /metrics; undefined when it does not answer. */
export async function outboxBacklog(origin: OriginMetrics): Promise<number | undefined> {
  try {
    const headers: Record<string, string> = origin.metricsToken ? { authorization: `Bearer ${origin.metricsToken}` } : {};
    const res = await fetch(`${origin.url}/metrics`, { headers, signal: AbortSignal.timeout(2000) });
    const m = /^motif_origin_usage_outbox_backlog (\d+)/m.exec(await res.text());
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Wait until delivery settles: every served request has its record and every origin's outbox is
 * empty (records of cut requests arrive too), or `timeoutMs` passes. Returns the audit then.
 */
export async function settledAudit(file: string, served: Iterable<string>, origins: readonly OriginMetrics[], timeoutMs: number): Promise<LedgerAudit> {
  const ids = [...served];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const audit = auditLedger(readLedger(file), ids);
    const backlogs = await Promise.all(origins.map(outboxBacklog));
    if ((audit.lost.length === 0 && backlogs.every((b) => b === 0)) || Date.now() > deadline) return audit;
    await sleep(250);
  }
}
