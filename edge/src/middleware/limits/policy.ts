/**
 * The per-tenant limit policy on top of GCRA, pure so the in-memory limiter and the Durable
 * Object limiter share it: requests per period are pre-paid (one unit on admission), tokens are
 * post-paid (charged from the origin's usage once known), and a tenant in token debt is denied
 * until the debt drains. The full quota model (monthly budgets, per-key limits) comes later.
 */
import { z } from 'zod';
import type { LimitDecision, RateWindow } from '../../ports.ts';
import { checkRule, type GcraRule, type GcraState, gcraCharge, gcraIdle, gcraTake } from './gcra.ts';

/** Limits config; 0 disables a dimension. Generous defaults: the edge is not a quota system yet. */
export const LimitsConfig = z.object({
  requestsPerMinute: z.number().int().min(0).default(10_000),
  tokensPerMinute: z.number().int().min(0).default(10_000_000),
});
export type LimitsConfig = z.infer<typeof LimitsConfig>;

export interface LimitRules {
  requests: GcraRule | null;
  tokens: GcraRule | null;
}

export interface SubjectState {
  requests?: GcraState;
  tokens?: GcraState;
}

/** Turn config into rules; throws (naming the field) on a negative or non-integer limit. */
export function limitRules(input: z.input<typeof LimitsConfig>): LimitRules {
  const cfg = LimitsConfig.parse(input);
  const rules: LimitRules = {
    requests: cfg.requestsPerMinute > 0 ? { limit: cfg.requestsPerMinute, periodMs: 60_000 } : null,
    tokens: cfg.tokensPerMinute > 0 ? { limit: cfg.tokensPerMinute, periodMs: 60_000 } : null,
  };
  if (rules.requests) checkRule(rules.requests, 'requestsPerMinute');
  if (rules.tokens) checkRule(rules.tokens, 'tokensPerMinute');
  return rules;
}

/** Admit one request: take a request unit and require at least one token of headroom. */
export function admit(state: SubjectState, now: number, rules: LimitRules): { decision: LimitDecision; state: SubjectState } {
  const req = rules.requests ? gcraTake(state.requests, now, 1, rules.requests) : null;
  // Peek only: tokens are charged after the response, from the origin's exact usage.
  const tok = rules.tokens ? gcraTake(state.tokens, now, 1, rules.tokens) : null;
  const allowed = (req?.allowed ?? true) && (tok?.allowed ?? true);
  const retryAfterMs = allowed ? 0 : Math.max(req?.retryAfterMs ?? 0, tok?.retryAfterMs ?? 0);
  const next: SubjectState = { ...state };
  if (allowed && req) next.requests = req.state;
  const window = (r: typeof req, rule: GcraRule | null): RateWindow | null =>
    r && rule ? { limit: rule.limit, remaining: r.remaining, resetMs: r.resetMs } : null;
  const tokWindow =
    tok && rules.tokens
      ? // The peek took one unit to test headroom; report the headroom without it.
        { limit: rules.tokens.limit, remaining: tok.allowed ? tok.remaining + 1 : 0, resetMs: tokensReset(state.tokens, now) }
      : null;
  return { decision: { allowed, requests: window(req, rules.requests), tokens: tokWindow, retryAfterMs }, state: next };
}

function tokensReset(state: GcraState | undefined, now: number): number {
  return Math.max(0, Math.ceil((state?.tat ?? now) - now));
}

/** Charge tokens used. */
export function charge(state: SubjectState, tokens: number, now: number, rules: LimitRules): SubjectState {
  if (!rules.tokens || !(tokens > 0)) return state;
  return { ...state, tokens: gcraCharge(state.tokens, now, tokens, rules.tokens) };
}

/** True when a subject's state can be dropped (both buckets full). */
export function idle(state: SubjectState, now: number): boolean {
  return (!state.requests || gcraIdle(state.requests, now)) && (!state.tokens || gcraIdle(state.tokens, now));
}
