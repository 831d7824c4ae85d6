/**
 * The limiter's state in SQL, written once for both runtimes: on Node one SQLite file every edge
 * process on the host opens (each operation one `BEGIN IMMEDIATE` transaction, so processes take
 * turns and the counters are exact), on Workers each tenant's LimiterDO storage (one object per
 * tenant: its single thread makes it exact). Rows: a GCRA arrival time per bucket, one lease per
 * admitted request until it is reconciled, and a token counter per tenant and UTC month.
 *
 * Hot path: admission is one transaction (two small reads, a bucket upsert per limited bucket,
 * a lease insert); the end of a request is a second one (delete the lease, adjust the token
 * buckets by what the reservation missed, bump the month), and on Node operations arriving together
 * share one transaction. Statements are fixed strings so the Node adapter prepares each once.
 */

import { admitIn, finishIn, type LimitsRepo, reconcileIn, type StoredLease, windowsIn } from '../middleware/limits/engine.ts';
import type { Limiter } from '../ports.ts';
import { groupCommit } from './group-commit.ts';
import { applySchema, type SqlDb } from './sql.ts';

export const LIMITS_SCHEMA = `
DROP TABLE IF EXISTS limiter_state;
CREATE TABLE IF NOT EXISTS limit_buckets (
  name TEXT PRIMARY KEY,
  tat REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS limit_leases (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  key TEXT NOT NULL,
  reserved INTEGER NOT NULL,
  tenant_tpm INTEGER NOT NULL,
  key_tpm INTEGER NOT NULL,
  open INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS limit_months (
  tenant TEXT NOT NULL,
  month TEXT NOT NULL,
  used INTEGER NOT NULL,
  PRIMARY KEY (tenant, month)
) WITHOUT ROWID
`;

/** Create the tables if missing. */
export function initLimits(db: SqlDb): void {
  applySchema(db, LIMITS_SCHEMA);
}

type LeaseRow = { id: string; tenant: string; key: string; reserved: number; tenant_tpm: number; key_tpm: number; open: number; expires_at: number };

// Leases are keyed (tenant, id): a tenant's totals are a range of the primary key, with no
// second index to maintain on every insert and delete. Fixed statement texts, prepared once.
const TOTALS = `SELECT sum(open = 1 AND expires_at > ?) AS open, sum(reserved) AS outstanding, sum(expires_at <= ?) AS expired,
  (SELECT used FROM limit_months WHERE tenant = ? AND month = ?) AS month_used
  FROM limit_leases WHERE tenant = ?`;
const UPSERT_BUCKETS = [1, 2, 3, 4].map(
  (n) => `INSERT INTO limit_buckets (name, tat) VALUES ${Array(n).fill('(?, ?)').join(', ')} ON CONFLICT (name) DO UPDATE SET tat = excluded.tat`,
);

/** The repository over SQL (call inside a transaction). */
export function sqlLimitsRepo(db: SqlDb): LimitsRepo {
  return {
    getBuckets(names) {
      const rows = db.all<{ name: string; tat: number }>('SELECT name, tat FROM limit_buckets WHERE name IN (?, ?, ?, ?)', ...pad4(names));
      return names.map((n) => {
        const row = rows.find((r) => r.name === n);
        return row ? { tat: row.tat } : undefined;
      });
    },
    putBuckets(names, states) {
      const params: (string | number)[] = [];
      states.forEach((st, i) => {
        if (st) params.push(names[i]!, st.tat);
      });
      if (params.length > 0) db.run(UPSERT_BUCKETS[params.length / 2 - 1]!, ...params);
    },
    leaseTotals(tenantId, now, month) {
      const row = db.all<{ open: number | null; outstanding: number | null; expired: number | null; month_used: number | null }>(
        TOTALS,
        now,
        now,
        tenantId,
        month,
        tenantId,
      )[0];
      return { open: row?.open ?? 0, outstanding: row?.outstanding ?? 0, expired: row?.expired ?? 0, monthUsed: row?.month_used ?? 0 };
    },
    collectExpired(tenantId, now) {
      const sum = db.all<{ s: number | null }>('SELECT sum(reserved) AS s FROM limit_leases WHERE tenant = ? AND expires_at <= ?', tenantId, now)[0]?.s ?? 0;
      db.run('DELETE FROM limit_leases WHERE tenant = ? AND expires_at <= ?', tenantId, now);
      return sum;
    },
    insertLease(l: StoredLease) {
      db.run(
        'INSERT OR REPLACE INTO limit_leases (tenant, id, key, reserved, tenant_tpm, key_tpm, open, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        l.tenantId,
        l.id,
        l.keyId,
        l.reserved,
        l.tenantTpm,
        l.keyTpm,
        l.open ? 1 : 0,
        l.expiresAt,
      );
    },
    closeLease(tenantId, id) {
      db.run('UPDATE limit_leases SET open = 0 WHERE tenant = ? AND id = ?', tenantId, id);
    },
    takeLease(tenantId, id) {
      const row = db.all<LeaseRow>('DELETE FROM limit_leases WHERE tenant = ? AND id = ? RETURNING *', tenantId, id)[0];
      if (!row) return undefined;
      return {
        id: row.id,
        tenantId: row.tenant,
        keyId: row.key,
        reserved: row.reserved,
        tenantTpm: row.tenant_tpm,
        keyTpm: row.key_tpm,
        open: row.open === 1,
        expiresAt: row.expires_at,
      };
    },
    addMonth(tenantId, month, tokens) {
      db.run(
        'INSERT INTO limit_months (tenant, month, used) VALUES (?, ?, ?) ON CONFLICT (tenant, month) DO UPDATE SET used = used + excluded.used',
        tenantId,
        month,
        tokens,
      );
    },
  };
}

function pad4(names: readonly string[]): string[] {
  const out = names.slice(0, 4);
  while (out.length < 4) out.push('');
  return out;
}

export interface SqlLimiterOptions {
  /**
   * Run a callback once the runtime has read the requests that are ready (Node: `setImmediate`).
   * Given, the operations that arrive meanwhile share one transaction (group commit): each is
   * still decided in arrival order under the same write lock, so the counts stay exact, and the
   * per-transaction cost (lock, WAL write) is paid once per batch instead of once per request.
   * Without it, every operation is its own transaction (a Durable Object: no commit to share).
   */
  defer?: (run: () => void) => void;
  /**
   * Like `defer`, for the ends of requests (release, reconcile) only, which may wait longer than
   * admissions (Node: a few ms): a slot or reservation released a moment late only errs on the
   * strict side, and larger batches make the second transaction of a request cheaper still.
   * Defaults to `defer`.
   */
  deferSettle?: (run: () => void) => void;
}

/**
 * A Limiter over one SqlDb whose operations run in immediate transactions. On Node the db is a
 * file all edge processes share; a Durable Object calls the same operations on its storage.
 */
export function sqlLimiter(db: SqlDb, opts: SqlLimiterOptions = {}): Limiter {
  initLimits(db);
  const repo = sqlLimitsRepo(db);
  const each = <T>(op: () => T) => new Promise<T>((resolve) => resolve(db.immediate(op)));
  const grouped = (defer: (flush: () => void) => void) => {
    // A store error fails the whole batch (none of it is kept); no item throws otherwise.
    const commit = groupCommit(db, (op: () => unknown) => op(), { defer, immediate: true, isolateItems: false });
    return <T>(op: () => T) => commit(op) as Promise<T>;
  };
  const run = opts.defer ? grouped(opts.defer) : each;
  const settle = opts.deferSettle ? grouped(opts.deferSettle) : run;
  return {
    admit: (a) => run(() => admitIn(repo, a)),
    finish: (tenantId, leaseId, used, now) => settle(() => finishIn(repo, tenantId, leaseId, used, now)),
    reconcile: (tenantId, settled, now) =>
      settle(() => {
        for (const s of settled) reconcileIn(repo, tenantId, s.leaseId, s.usedTokens, now);
      }),
    windows: (tenantId, keyId, limits, now) => run(() => windowsIn(repo, tenantId, keyId, limits, now)),
  };
}
