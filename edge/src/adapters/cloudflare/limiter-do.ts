/**
 * One tenant's limits in a Durable Object: its request and token buckets and those of its keys,
 * its leases (concurrent requests and unreconciled reservations) and its monthly token counter.
 * An object runs one call at a time, so every isolate sees exact counters; the state lives in the
 * object's SQLite storage (the same store code as the Node edge), so an eviction forgives nothing.
 */
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectState } from '@cloudflare/workers-types';
import type { Admission, EffectiveLimits, LimitDecision, Limiter, SettledLease } from '../../ports.ts';
import { sqlLimiter } from '../../stores/sql-limits.ts';
import { doSql } from './do-sql.ts';

export class LimiterDO extends DurableObject {
  private readonly limiter: Limiter;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.limiter = sqlLimiter(doSql(ctx.storage));
  }

  /** Admit one request of this tenant, or refuse it. */
  admit(a: Admission): Promise<LimitDecision> {
    return this.limiter.admit(a);
  }

  /** Release a lease's slot (and reconcile it when `used` is known). */
  finish(tenantId: string, leaseId: string, used: number | null, now: number): Promise<void> {
    return this.limiter.finish(tenantId, leaseId, used, now);
  }

  /** Reconcile leases from origins' usage records. */
  reconcile(tenantId: string, settled: SettledLease[], now: number): Promise<void> {
    return this.limiter.reconcile(tenantId, settled, now);
  }

  /** The current windows of this tenant and one of its keys. */
  windows(tenantId: string, keyId: string, limits: EffectiveLimits, now: number): Promise<Pick<LimitDecision, 'requests' | 'tokens'>> {
    return this.limiter.windows(tenantId, keyId, limits, now);
  }
}
