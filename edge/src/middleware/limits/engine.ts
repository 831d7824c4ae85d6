/**
 * The limiter's operations, written once over a small repository so the SQL store (Node's shared
 * SQLite file, each Durable Object's storage) and the in-memory one run the same steps. Callers
 * run each operation inside one write transaction; that is what makes it exact across processes.
 */
import type { Admission, LimitDecision } from '../../ports.ts';
import type { GcraState } from './gcra.ts';
import { bucketNames, decide, type LeaseRecord, monthOf, reconcileTokens } from './policy.ts';

/** A lease row: the record plus its state. */
export interface StoredLease extends LeaseRecord {
  open: boolean;
  expiresAt: number;
}

export interface LeaseTotals {
  /** Open leases not yet expired. */
  open: number;
  /** Reserved tokens of every lease still stored (not reconciled). */
  outstanding: number;
  /** Leases past their expiry, waiting to be collected. */
  expired: number;
}

/** The storage a limiter needs; every method is synchronous (one transaction around a call). */
export interface LimitsRepo {
  getBuckets(names: readonly string[]): (GcraState | undefined)[];
  putBucket(name: string, state: GcraState): void;
  leaseTotals(tenantId: string, now: number): LeaseTotals;
  /** Delete the tenant's expired leases; returns the tokens they had reserved. */
  collectExpired(tenantId: string, now: number): number;
  insertLease(lease: StoredLease): void;
  closeLease(id: string): void;
  /** Delete and return a lease (undefined when it is gone). */
  takeLease(id: string): StoredLease | undefined;
  monthUsed(tenantId: string, month: string): number;
  addMonth(tenantId: string, month: string, tokens: number): void;
}

/** Admit or refuse; an admitted request gets its buckets taken and a lease. */
export function admitIn(repo: LimitsRepo, a: Admission): LimitDecision {
  const names = bucketNames(a.tenantId, a.keyId);
  const month = monthOf(a.now);
  let totals = repo.leaseTotals(a.tenantId, a.now);
  if (totals.expired > 0) {
    // A lease nobody reconciled (an edge that died, a usage record that never came) keeps its
    // reservation charged: it moves into the month's counter.
    const charged = repo.collectExpired(a.tenantId, a.now);
    if (charged > 0) repo.addMonth(a.tenantId, month, charged);
    totals = repo.leaseTotals(a.tenantId, a.now);
  }
  const out = decide({ buckets: repo.getBuckets(names), open: totals.open, outstanding: totals.outstanding, monthUsed: repo.monthUsed(a.tenantId, month) }, a);
  if (!out.buckets) return out.decision;
  out.buckets.forEach((st, i) => {
    if (st) repo.putBucket(names[i]!, st);
  });
  repo.insertLease({
    id: a.leaseId,
    tenantId: a.tenantId,
    keyId: a.keyId,
    reserved: a.reserveTokens,
    tenantTpm: a.limits.tenantTpm,
    keyTpm: a.limits.keyTpm,
    open: true,
    expiresAt: a.expiresAt,
  });
  return out.decision;
}

/** Release a lease's slot; reconcile it too when the usage is known. */
export function finishIn(repo: LimitsRepo, leaseId: string, used: number | null, now: number): void {
  if (used === null) repo.closeLease(leaseId);
  else reconcileIn(repo, leaseId, used, now);
}

/** Reconcile a lease with the tokens it used, once: the first call wins, later ones find no lease. */
export function reconcileIn(repo: LimitsRepo, leaseId: string, used: number, now: number): void {
  const lease = repo.takeLease(leaseId);
  if (!lease) return;
  const [, tenantTokens, , keyTokens] = bucketNames(lease.tenantId, lease.keyId);
  const before = repo.getBuckets([tenantTokens, keyTokens]);
  const after = reconcileTokens(lease, Math.max(0, used), now, [before[0], before[1]]);
  if (after[0]) repo.putBucket(tenantTokens, after[0]);
  if (after[1]) repo.putBucket(keyTokens, after[1]);
  if (used > 0) repo.addMonth(lease.tenantId, monthOf(now), used);
}
