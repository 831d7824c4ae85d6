/**
 * In-process Limiter: the GCRA policy with state in a Map. Exact for a single edge process (the
 * Node appliance); a Worker uses the per-tenant Durable Object instead, since isolates do not
 * share memory. Idle subjects are swept so the map stays bounded by active tenants.
 */

import { admit, charge, idle, type LimitsConfig, limitRules, type SubjectState } from '../../middleware/limits/policy.ts';
import type { LimitDecision, Limiter } from '../../ports.ts';

export interface MemoryLimiterOptions {
  limits?: Partial<LimitsConfig>;
  /** Sweep idle subjects once the map holds this many (default 10 000). */
  sweepAt?: number;
}

/** Create an in-memory limiter; throws on invalid limits. */
export function memoryLimiter(opts: MemoryLimiterOptions = {}): Limiter {
  const rules = limitRules(opts.limits ?? {});
  const sweepAt = opts.sweepAt ?? 10_000;
  if (!Number.isInteger(sweepAt) || sweepAt < 1) throw new Error('memoryLimiter: sweepAt must be a positive integer');
  const states = new Map<string, SubjectState>();

  function sweep(now: number): void {
    if (states.size < sweepAt) return;
    for (const [k, s] of states) if (idle(s, now)) states.delete(k);
  }

  return {
    async admit(subject: string, now: number): Promise<LimitDecision> {
      sweep(now);
      const r = admit(states.get(subject) ?? {}, now, rules);
      states.set(subject, r.state);
      return r.decision;
    },
    async charge(subject: string, tokens: number, now: number): Promise<void> {
      states.set(subject, charge(states.get(subject) ?? {}, tokens, now, rules));
    },
  };
}
