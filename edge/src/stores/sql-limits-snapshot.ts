/**
 * A limiter's state to and from its SQL tables (stores/sql-limits.ts): how a limiter that decides
 * in memory (the Node edge's solo scope) starts from what the file holds, then writes back what
 * changed. Small by nature: a bucket per tenant and key, a lease per request in flight, a
 * counter per tenant and month.
 */
import type { LimitsChanges, LimitsSnapshot } from '../middleware/limits/engine.ts';
import type { SqlDb } from './sql.ts';
import { initLimits, sqlLimitsRepo } from './sql-limits.ts';

type LeaseRow = { tenant: string; id: string; key: string; reserved: number; tenant_tpm: number; key_tpm: number; open: number; expires_at: number };

/** Everything the limits tables hold (created if missing). */
export function readLimitsSnapshot(db: SqlDb): LimitsSnapshot {
  initLimits(db);
  return db.transaction(() => ({
    buckets: db.all<{ name: string; tat: number }>('SELECT name, tat FROM limit_buckets').map((r) => ({ name: r.name, tat: Number(r.tat) })),
    leases: db.all<LeaseRow>('SELECT tenant, id, key, reserved, tenant_tpm, key_tpm, open, expires_at FROM limit_leases').map((r) => ({
      id: r.id,
      tenantId: r.tenant,
      keyId: r.key,
      reserved: Number(r.reserved),
      tenantTpm: Number(r.tenant_tpm),
      keyTpm: Number(r.key_tpm),
      open: Number(r.open) === 1,
      expiresAt: Number(r.expires_at),
    })),
    months: db
      .all<{ tenant: string; month: string; used: number }>('SELECT tenant, month, used FROM limit_months')
      .map((r) => ({ tenantId: r.tenant, month: r.month, used: Number(r.used) })),
  }));
}

/** Apply `changes` to the limits tables, in one transaction: rows written as they are now, gone leases deleted. */
export function writeLimitsChanges(db: SqlDb, changes: LimitsChanges): void {
  const repo = sqlLimitsRepo(db);
  db.transaction(() => {
    for (const b of changes.buckets) repo.putBuckets([b.name], [{ tat: b.tat }]);
    for (const l of changes.leases) repo.insertLease(l);
    for (const g of changes.goneLeases) db.run('DELETE FROM limit_leases WHERE tenant = ? AND id = ?', g.tenantId, g.id);
    for (const m of changes.months)
      db.run(
        'INSERT INTO limit_months (tenant, month, used) VALUES (?, ?, ?) ON CONFLICT (tenant, month) DO UPDATE SET used = excluded.used',
        m.tenantId,
        m.month,
        m.used,
      );
  });
}
