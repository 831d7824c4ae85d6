/**
 * One tenant's rate-limit state in a Durable Object, so every isolate sees exact counters
 * (isolates share no memory). The GCRA state is kept in memory for the answer and written to
 * the object's SQLite storage on every change: an object evicted while its tenant is in token
 * debt (or has spent its requests) loads the same state again instead of starting full.
 */
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectState } from '@cloudflare/workers-types';
import { admit, charge, type LimitsConfig, limitRules, type SubjectState } from '../../middleware/limits/policy.ts';
import type { LimitDecision } from '../../ports.ts';
import type { SqlDb } from '../../stores/sql.ts';
import { initLimits, limitsLoad, limitsSave } from '../../stores/sql-limits.ts';
import { doSql } from './do-sql.ts';

export class LimiterDO extends DurableObject {
  private readonly db: SqlDb;
  private state: SubjectState;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.db = doSql(ctx.storage);
    initLimits(this.db);
    this.state = limitsLoad(this.db);
  }

  /** Admit one request under `limits`. */
  admit(now: number, limits: Partial<LimitsConfig>): LimitDecision {
    const r = admit(this.state, now, limitRules(limits));
    this.update(r.state);
    return r.decision;
  }

  /** Charge tokens used. */
  charge(tokens: number, now: number, limits: Partial<LimitsConfig>): void {
    this.update(charge(this.state, tokens, now, limitRules(limits)));
  }

  private update(next: SubjectState): void {
    // Stored before memory changes: a failed write leaves both at the last stored state.
    limitsSave(this.db, this.state, next);
    this.state = next;
  }
}
