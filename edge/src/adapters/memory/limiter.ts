/**
 * In-memory Limiter for tests and single-process tools: the same operations as the SQL store
 * (middleware/limits/engine.ts) over Maps. Exact only within one process, so no runtime uses it
 * in production: the Node edge shares a SQLite file between its processes, the Worker uses one
 * Durable Object per tenant.
 */

import { admitIn, finishIn, type LimitsRepo, reconcileIn, type StoredLease, windowsIn } from '../../middleware/limits/engine.ts';
import type { GcraState } from '../../middleware/limits/gcra.ts';
import type { Limiter } from '../../ports.ts';

/** The Maps behind a memory limiter, as a repository. */
export function memoryLimitsRepo(): LimitsRepo {
  const buckets = new Map<string, GcraState>();
  const leases = new Map<string, StoredLease>();
  const months = new Map<string, number>();
  const ofTenant = (tenantId: string) => [...leases.values()].filter((l) => l.tenantId === tenantId);
  return {
    getBuckets: (names) => names.map((n) => buckets.get(n)),
    putBuckets(names, states) {
      states.forEach((st, i) => {
        if (st) buckets.set(names[i]!, st);
      });
    },
    leaseTotals(tenantId, now, month) {
      const mine = ofTenant(tenantId);
      return {
        monthUsed: months.get(`${tenantId}/${month}`) ?? 0,
        open: mine.filter((l) => l.open && l.expiresAt > now).length,
        outstanding: mine.reduce((s, l) => s + l.reserved, 0),
        expired: mine.filter((l) => l.expiresAt <= now).length,
      };
    },
    collectExpired(tenantId, now) {
      let sum = 0;
      for (const l of ofTenant(tenantId)) {
        if (l.expiresAt > now) continue;
        sum += l.reserved;
        leases.delete(l.id);
      }
      return sum;
    },
    insertLease: (l) => void leases.set(l.id, { ...l }),
    closeLease(tenantId, id) {
      const l = leases.get(id);
      if (l?.tenantId === tenantId) l.open = false;
    },
    takeLease(tenantId, id) {
      const l = leases.get(id);
      if (l?.tenantId !== tenantId) return undefined;
      leases.delete(id);
      return l;
    },
    addMonth: (tenantId, month, tokens) => void months.set(`${tenantId}/${month}`, (months.get(`${tenantId}/${month}`) ?? 0) + tokens),
  };
}

/** Create an in-memory limiter. */
export function memoryLimiter(): Limiter {
  const repo = memoryLimitsRepo();
  return {
    admit: async (a) => admitIn(repo, a),
    finish: async (tenantId, leaseId, used, now) => finishIn(repo, tenantId, leaseId, used, now),
    reconcile: async (tenantId, settled, now) => {
      for (const s of settled) reconcileIn(repo, tenantId, s.leaseId, s.usedTokens, now);
    },
    windows: async (tenantId, keyId, limits, now) => windowsIn(repo, tenantId, keyId, limits, now),
  };
}
