/**
 * The limiter's operations, written once over a small repository so the SQL store (Node's shared
 * SQLite file, each Durable Object's storage) and the in-memory one run the same steps. Callers
 * run each operation inside one write transaction; that is what makes it exact across processes.
 */
import type { Admission, EffectiveLimits, LimitDecision } from '../../ports.ts';
import type { GcraState } from './gcra.ts';
import { bucketNames, currentWindows, decide, type LeaseRecord, monthOf, reconcileTokens } from './policy.ts';

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

/** A limiter's whole state as plain rows: to move it between a store in memory and one on disk. */
export interface LimitsSnapshot {
  buckets: { name: string; tat: number }[];
  leases: StoredLease[];
  months: { tenantId: string; month: string; used: number }[];
}

/** What changed in a limiter's state: rows as they are now, and the leases that are gone. */
export interface LimitsChanges extends LimitsSnapshot {
  goneLeases: { tenantId: string; id: string }[];
}

/** The storage a limiter needs; every method is synchronous (one transaction around a call). */
export interface LimitsRepo {
  getBuckets(names: readonly string[]): (GcraState | undefined)[];
  /** Store bucket states; entries whose state is undefined are left as they are. */
  putBuckets(names: readonly string[], states: readonly (GcraState | undefined)[]): void;
  /** The tenant's lease totals and this month's reconciled tokens, in one read. */
  leaseTotals(tenantId: string, now: number, month: string): LeaseTotals & { monthUsed: number };
  /** Delete the tenant's expired leases; returns the tokens they had reserved. */
  collectExpired(tenantId: string, now: number): number;
  insertLease(lease: StoredLease): void;
  closeLease(tenantId: string, id: string): void;
  /** Delete and return a lease (undefined when it is gone). */
  takeLease(tenantId: string, id: string): StoredLease | undefined;
  addMonth(tenantId: string, month: string, tokens: number): void;
}

/** Admit or refuse; an admitted request gets its buckets taken and a lease. */
export function admitIn(repo: LimitsRepo, a: Admission): LimitDecision {
  const names = bucketNames(a.tenantId, a.keyId);
  const month = monthOf(a.now);
  let totals = repo.leaseTotals(a.tenantId, a.now, month);
  if (totals.expired > 0) {
    // A lease nobody reconciled (an edge that died, a usage record that never came) keeps its
    // reservation charged: it moves into the month's counter.
    const charged = repo.collectExpired(a.tenantId, a.now);
    if (charged > 0) repo.addMonth(a.tenantId, month, charged);
    totals = repo.leaseTotals(a.tenantId, a.now, month);
  }
  const out = decide({ buckets: repo.getBuckets(names), open: totals.open, outstanding: totals.outstanding, monthUsed: totals.monthUsed }, a);
  if (!out.buckets) return out.decision;
  repo.putBuckets(names, out.buckets);
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
export function finishIn(repo: LimitsRepo, tenantId: string, leaseId: string, used: number | null, now: number): void {
  if (used === null) repo.closeLease(tenantId, leaseId);
  else reconcileIn(repo, tenantId, leaseId, used, now);
}

/** Reconcile a lease with the tokens it used, once: the first call wins, later ones find no lease. */
export function reconcileIn(repo: LimitsRepo, tenantId: string, leaseId: string, used: number, now: number): void {
  const lease = repo.takeLease(tenantId, leaseId);
  if (!lease) return;
  if (used !== lease.reserved && (lease.tenantTpm > 0 || lease.keyTpm > 0)) {
    const [, tenantTokens, , keyTokens] = bucketNames(lease.tenantId, lease.keyId);
    const names = [tenantTokens, keyTokens];
    const before = repo.getBuckets(names);
    repo.putBuckets(names, reconcileTokens(lease, Math.max(0, used), now, [before[0], before[1]]));
  }
  if (used > 0) repo.addMonth(lease.tenantId, monthOf(now), used);
}

/** The windows of a tenant and key as they stand. */
export function windowsIn(repo: LimitsRepo, tenantId: string, keyId: string, limits: EffectiveLimits, now: number): Pick<LimitDecision, 'requests' | 'tokens'> {
  return currentWindows(repo.getBuckets(bucketNames(tenantId, keyId)), limits, now);
}
