/**
 * The limiter over Maps: the same operations as the SQL store (middleware/limits/engine.ts).
 * Exact only within one process: tests and single-process tools use it as is, and the Node
 * edge's solo scope (adapters/node/host-limiter.ts) uses it when a host lock guarantees that no
 * other process decides for the host. Leases are indexed by tenant, so an admission reads its
 * own tenant's leases only, without copying them.
 */

import {
  admitIn,
  finishIn,
  type LimitsChanges,
  type LimitsRepo,
  type LimitsSnapshot,
  reconcileIn,
  type StoredLease,
  windowsIn,
} from '../../middleware/limits/engine.ts';
import type { GcraState } from '../../middleware/limits/gcra.ts';
import type { Limiter } from '../../ports.ts';

/** A repository over Maps that can say what changed, to persist it elsewhere. */
export interface MemoryLimitsRepo extends LimitsRepo {
  /** What changed since the last call (or since `initial`): rows as they are now, and leases gone. */
  changes(): LimitsChanges;
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
  const leaseKey = (tenantId: string, id: string) => `${tenantId}\u0000${id}`;
  const split = (k: string) => k.split('\u0000') as [string, string];
  // What changed since the last `changes()`, and which leases the other side holds.
  const dirtyBuckets = new Set<string>();
  const dirtyLeases = new Set<string>();
  const dirtyMonths = new Set<string>();
  const persistedLeases = new Set<string>();
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
    dirtyLeases.add(leaseKey(l.tenantId, l.id));
    if (l.open) mine.open++;
    mine.reserved += l.reserved;
    mine.earliestExpiry = Math.min(mine.earliestExpiry, l.expiresAt);
  };
  const remove = (tenantId: string, id: string) => {
    const mine = leases.get(tenantId);
    const l = mine?.byId.get(id);
    if (!mine || !l) return;
    mine.byId.delete(id);
    dirtyLeases.add(leaseKey(tenantId, id));
    if (l.open) mine.open--;
    mine.reserved -= l.reserved;
    if (mine.byId.size === 0) leases.delete(tenantId);
  };
  for (const b of initial?.buckets ?? []) buckets.set(b.name, { tat: b.tat });
  for (const l of initial?.leases ?? []) {
    insert(l);
    persistedLeases.add(leaseKey(l.tenantId, l.id));
  }
  for (const m of initial?.months ?? []) months.set(monthKey(m.tenantId, m.month), m.used);
  dirtyLeases.clear();
  return {
    getBuckets: (names) => names.map((n) => buckets.get(n)),
    putBuckets(names, states) {
      states.forEach((st, i) => {
        if (!st) return;
        buckets.set(names[i]!, st);
        dirtyBuckets.add(names[i]!);
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
      dirtyLeases.add(leaseKey(tenantId, id));
    },
    takeLease(tenantId, id) {
      const l = leases.get(tenantId)?.byId.get(id);
      if (l) remove(tenantId, id);
      return l;
    },
    addMonth(tenantId, month, tokens) {
      const k = monthKey(tenantId, month);
      months.set(k, (months.get(k) ?? 0) + tokens);
      dirtyMonths.add(k);
    },
    changes() {
      const out: LimitsChanges = { buckets: [], leases: [], goneLeases: [], months: [] };
      for (const name of dirtyBuckets) out.buckets.push({ name, tat: buckets.get(name)!.tat });
      for (const k of dirtyLeases) {
        const [tenantId, id] = split(k);
        const l = leases.get(tenantId)?.byId.get(id);
        if (l) {
          out.leases.push({ ...l });
          persistedLeases.add(k);
        } else if (persistedLeases.delete(k)) out.goneLeases.push({ tenantId, id });
        // A lease that came and went between two calls was never persisted: nothing to say.
      }
      for (const k of dirtyMonths) {
        const [tenantId, month] = split(k);
        out.months.push({ tenantId, month, used: months.get(k)! });
      }
      dirtyBuckets.clear();
      dirtyLeases.clear();
      dirtyMonths.clear();
      return out;
    },
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
