/**
 * One tenant's rate-limit state in a Durable Object, so every isolate sees exact counters
 * (isolates share no memory). The GCRA state is two numbers kept in memory: if the object is
 * evicted the tenant's buckets start full again, which errs on the side of serving, and saves a
 * storage write per request.
 */
import { DurableObject } from 'cloudflare:workers';
import { admit, charge, type LimitsConfig, limitRules, type SubjectState } from '../../middleware/limits/policy.ts';
import type { LimitDecision } from '../../ports.ts';

export class LimiterDO extends DurableObject {
  private state: SubjectState = {};

  /** Admit one request under `limits`. */
  admit(now: number, limits: Partial<LimitsConfig>): LimitDecision {
    const r = admit(this.state, now, limitRules(limits));
    this.state = r.state;
    return r.decision;
  }

  /** Charge tokens used. */
  charge(tokens: number, now: number, limits: Partial<LimitsConfig>): void {
    this.state = charge(this.state, tokens, now, limitRules(limits));
  }
}
