/**
 * GCRA (generic cell rate algorithm) math, pure: a rate limit is one number per subject, the
 * theoretical arrival time (TAT). With `limit` per `periodMs`, each unit of cost moves the TAT by
 * the emission interval I = periodMs / limit; a request is allowed when the new TAT is at most
 * one period ahead of now. That gives smooth refill and bursts of up to `limit` without timers
 * or per-request rows, and the same math runs in memory (Node) and in a Durable Object.
 */

export interface GcraRule {
  /** Units per period; must be positive. */
  limit: number;
  periodMs: number;
}

export interface GcraState {
  /** Theoretical arrival time, epoch ms. */
  tat: number;
}

export interface GcraResult {
  allowed: boolean;
  /** The state to store (unchanged when denied). */
  state: GcraState;
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
  /** When denied: milliseconds until the same cost would be allowed. */
  retryAfterMs: number;
}

/** Check a rule's numbers once, at construction time of whatever uses it. */
export function checkRule(rule: GcraRule, what: string): void {
  if (!Number.isFinite(rule.limit) || rule.limit <= 0) throw new Error(`${what}: limit must be a positive number`);
  if (!Number.isFinite(rule.periodMs) || rule.periodMs <= 0) throw new Error(`${what}: periodMs must be a positive number`);
}

/** Remaining units and time to full of a bucket whose TAT is `tat`, without taking anything. */
export function view(tat: number, now: number, rule: GcraRule): { remaining: number; resetMs: number } {
  const interval = rule.periodMs / rule.limit;
  const ahead = Math.max(0, tat - now);
  return {
    remaining: Math.max(0, Math.floor((rule.periodMs - ahead) / interval)),
    resetMs: Math.ceil(ahead),
  };
}

/** Take `cost` units at `now` if the rule allows it. */
export function gcraTake(state: GcraState | undefined, now: number, cost: number, rule: GcraRule): GcraResult {
  const interval = rule.periodMs / rule.limit;
  const tat = Math.max(state?.tat ?? now, now);
  const newTat = tat + cost * interval;
  const allowAt = newTat - rule.periodMs;
  // Arrival times are fractional ms: a remainder under 1 ms (left, say, by usage charged at an
  // earlier, higher rate) does not refuse a request that would be allowed a moment later.
  if (allowAt - now >= 1) {
    const v = view(tat, now, rule);
    return { allowed: false, state: { tat }, remaining: v.remaining, resetMs: v.resetMs, retryAfterMs: Math.ceil(allowAt - now) };
  }
  const v = view(newTat, now, rule);
  return { allowed: true, state: { tat: newTat }, remaining: v.remaining, resetMs: v.resetMs, retryAfterMs: 0 };
}

/**
 * Charge `cost` units unconditionally (post-paid usage such as tokens, known only after the
 * response). The TAT may run more than a period ahead; `gcraTake` then denies until it drains.
 */
export function gcraCharge(state: GcraState | undefined, now: number, cost: number, rule: GcraRule): GcraState {
  const interval = rule.periodMs / rule.limit;
  return { tat: Math.max(state?.tat ?? now, now) + Math.max(0, cost) * interval };
}

/**
 * Move a bucket by `delta` units: positive charges (possibly into debt), negative refunds a
 * reservation that was not used. A refund never fills a bucket past full (TAT below now).
 */
export function gcraAdjust(state: GcraState | undefined, now: number, delta: number, rule: GcraRule): GcraState {
  const interval = rule.periodMs / rule.limit;
  const tat = Math.max(state?.tat ?? now, now);
  return { tat: Math.max(now, tat + delta * interval) };
}

/** True when the state carries no information any more (the bucket is full): safe to forget. */
export function gcraIdle(state: GcraState, now: number): boolean {
  return state.tat <= now;
}
