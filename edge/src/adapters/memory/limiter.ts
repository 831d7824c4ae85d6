/**
 * The limiter over Maps: the same operations as the SQL store (middleware/limits/engine.ts).
 * Exact only within one process: tests and single-process tools use it as is, and the Node
 * edge's solo scope (adapters/node/solo-limiter.ts) uses it when a host lock guarantees that no
 * other process decides for the host. Leases are indexed by tenant, so an admission reads its
 * own tenant's leases only, without copying them.
 */

import { admitIn, finishIn, type LimitsRepo, type LimitsSnapshot, reconcileIn, type StoredLease, windowsIn } from '../../middleware/limits/engine.ts';
import type { GcraState } from '../../middleware/limits/gcra.ts';
import type { Limiter } from '../../ports.ts';

/** A repository over Maps, and its whole state as a snapshot (to persist it elsewhere). */
export interface MemoryLimitsRepo extends LimitsRepo {
  snapshot(): LimitsSnapshot;
}

/** A tenant's leases with their running totals (kept as leases come and go, not summed per admission). */
interface TenantLeases {
  byId: Map<string, StoredLease>;
  open: number;
  reserved: number;
  /** No lease expires before this (a lower bound: a lease leaving does not raise it). */
  earliestExpiry: number;
}

/** The Maps behind a memory limiter, as a repository; starts from `initial` when given. */
export function memoryLimitsRepo(initial?: LimitsSnapshot): MemoryLimitsRepo {
  const buckets = new Map<string, GcraState>();
  const leases = new Map<string, TenantLeases>();
  const months = new Map<string, number>();
  const monthKey = (tenantId: string, month: string) => `${tenantId}\u0000${month}`;
  const ofTenant = (tenantId: string) => leases.get(tenantId)?.byId.values() ?? [];
  const insert = (l: StoredLease) => {
    let mine = leases.get(l.tenantId);
    if (!mine) {
      mine = { byId: new Map(), open: 0, reserved: 0, earliestExpiry: Number.POSITIVE_INFINITY };
      leases.set(l.tenantId, mine);
    }
    const before = mine.byId.get(l.id);
    if (before) remove(l.tenantId, l.id);
    mine.byId.set(l.id, { ...l });
    if (l.open) mine.open++;
    mine.reserved += l.reserved;
    mine.earliestExpiry = Math.min(mine.earliestExpiry, l.expiresAt);
  };
  const remove = (tenantId: string, id: string) => {
    const mine = leases.get(tenantId);
    const l = mine?.byId.get(id);
    if (!mine || !l) return;
    mine.byId.delete(id);
    if (l.open) mine.open--;
    mine.reserved -= l.reserved;
    if (mine.byId.size === 0) leases.delete(tenantId);
  };
  for (const b of initial?.buckets ?? []) buckets.set(b.name, { tat: b.tat });
  for (const l of initial?.leases ?? []) insert(l);
  for (const m of initial?.months ?? []) months.set(monthKey(m.tenantId, m.month), m.used);
  return {
    getBuckets: (names) => names.map((n) => buckets.get(n)),
    putBuckets(names, states) {
      states.forEach((st, i) => {
        if (st) buckets.set(names[i]!, st);
      });
    },
    leaseTotals(tenantId, now, month) {
      const monthUsed = months.get(monthKey(tenantId, month)) ?? 0;
      const mine = leases.get(tenantId);
      if (!mine) return { monthUsed, open: 0, outstanding: 0, expired: 0 };
      if (mine.earliestExpiry > now) return { monthUsed, open: mine.open, outstanding: mine.reserved, expired: 0 };
      // Some lease may have expired: count them, and learn the true earliest expiry again.
      let open = 0;
      let expired = 0;
      let earliest = Number.POSITIVE_INFINITY;
      for (const l of mine.byId.values()) {
        if (l.expiresAt <= now) expired++;
        else if (l.open) open++;
        earliest = Math.min(earliest, l.expiresAt);
      }
      mine.earliestExpiry = earliest;
      return { monthUsed, open, outstanding: mine.reserved, expired };
    },
    collectExpired(tenantId, now) {
      let sum = 0;
      for (const l of [...ofTenant(tenantId)]) {
        if (l.expiresAt > now) continue;
        sum += l.reserved;
        remove(tenantId, l.id);
      }
      return sum;
    },
    insertLease: insert,
    closeLease(tenantId, id) {
      const mine = leases.get(tenantId);
      const l = mine?.byId.get(id);
      if (!mine || !l?.open) return;
      l.open = false;
      mine.open--;
    },
    takeLease(tenantId, id) {
      const l = leases.get(tenantId)?.byId.get(id);
      if (l) remove(tenantId, id);
      return l;
    },
    addMonth: (tenantId, month, tokens) => void months.set(monthKey(tenantId, month), (months.get(monthKey(tenantId, month)) ?? 0) + tokens),
    snapshot: () => ({
      buckets: [...buckets].map(([name, s]) => ({ name, tat: s.tat })),
      leases: [...leases.values()].flatMap((mine) => [...mine.byId.values()].map((l) => ({ ...l }))),
      months: [...months].map(([k, used]) => {
        const [tenantId, month] = k.split('\u0000') as [string, string];
        return { tenantId, month, used };
      }),
    }),
  };
}

/** A Limiter whose operations run on `repo` at once (one process decides alone). */
export function limiterOver(repo: LimitsRepo): Limiter {
  return {
    admit: async (a) => admitIn(repo, a),
    finish: async (tenantId, leaseId, used, now) => finishIn(repo, tenantId, leaseId, used, now),
    reconcile: async (tenantId, settled, now) => {
      for (const s of settled) reconcileIn(repo, tenantId, s.leaseId, s.usedTokens, now);
    },
    windows: async (tenantId, keyId, limits, now) => windowsIn(repo, tenantId, keyId, limits, now),
  };
}

/** Create an in-memory limiter. */
export function memoryLimiter(): Limiter {
  return limiterOver(memoryLimitsRepo());
}
