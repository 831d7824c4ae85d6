/**
 * The limit policy, pure so every store runs the same decisions: per tenant and per key GCRA
 * buckets for requests (one unit, pre-paid) and tokens (the request's reservation, pre-paid and
 * reconciled with what was used when the request ends), a cap on a tenant's concurrent requests
 * and a monthly token quota. The stores (stores/sql-limits.ts, adapters/memory/limiter.ts) only
 * load a snapshot, call `decide` and write back what it returns, inside one transaction.
 */
import { z } from 'zod';
import type { Admission, EffectiveLimits, LimitDecision, LimitReason, PrincipalLimits, RateWindow } from '../../ports.ts';
import { type GcraResult, type GcraRule, type GcraState, gcraAdjust, gcraTake, view } from './gcra.ts';

const PERIOD_MS = 60_000;

/** The edge's defaults for limits a tenant or key record leaves null; 0 = unlimited. */
export const LimitDefaults = z.object({
  requestsPerMinute: z.number().int().min(0).default(10_000),
  tokensPerMinute: z.number().int().min(0).default(10_000_000),
  maxConcurrent: z.number().int().min(0).default(0),
  monthlyTokens: z.number().int().min(0).default(0),
  /** Largest reservation: the context length of the biggest model served (heartbeats do not carry it). */
  maxContextTokens: z.number().int().min(1).default(32_768),
});
export type LimitDefaults = z.infer<typeof LimitDefaults>;

/**
 * The limits in force for a principal. A null tenant value takes the edge default; a null key
 * value means the key adds no limit of its own (the tenant's still applies).
 */
export function resolveLimits(p: PrincipalLimits | undefined, d: LimitDefaults): EffectiveLimits {
  return {
    tenantRpm: p?.tenant.rpm ?? d.requestsPerMinute,
    tenantTpm: p?.tenant.tpm ?? d.tokensPerMinute,
    keyRpm: p?.key.rpm ?? 0,
    keyTpm: p?.key.tpm ?? 0,
    maxConcurrent: p?.tenant.maxConcurrent ?? d.maxConcurrent,
    monthlyTokens: p?.monthlyTokens ?? d.monthlyTokens,
  };
}

/**
 * Tokens to reserve: the prompt estimate plus the completion budget (default: the whole
 * context), capped at the context, and at the smallest tokens/min limit so a large request can
 * still start on a full bucket (its real usage, charged at reconcile, may then run into debt).
 */
export function reservation(promptTokens: number, maxTokens: number | undefined, contextTokens: number, l: EffectiveLimits): number {
  let r = Math.min(contextTokens, promptTokens + (maxTokens ?? contextTokens));
  for (const tpm of [l.tenantTpm, l.keyTpm]) if (tpm > 0) r = Math.min(r, tpm);
  return Math.max(1, Math.ceil(r));
}

/** An upper-ish prompt token estimate from its text: ~4 UTF-8 bytes per token, plus framing per part. */
export function estimatePromptTokens(utf8Bytes: number, parts: number): number {
  return Math.ceil(utf8Bytes / 4) + 4 * parts;
}

/** Bucket names of one admission: tenant requests, tenant tokens, key requests, key tokens. */
export function bucketNames(tenantId: string, keyId: string): [string, string, string, string] {
  return [`t/${tenantId}/r`, `t/${tenantId}/t`, `k/${keyId}/r`, `k/${keyId}/t`];
}

const rule = (perMinute: number): GcraRule | null => (perMinute > 0 ? { limit: perMinute, periodMs: PERIOD_MS } : null);

/** The GCRA rules of the four buckets, in `bucketNames` order (null = unlimited). */
export function bucketRules(l: EffectiveLimits): (GcraRule | null)[] {
  return [rule(l.tenantRpm), rule(l.tenantTpm), rule(l.keyRpm), rule(l.keyTpm)];
}

/** What a store knows at admission, read in the same transaction that writes the result. */
export interface AdmissionSnapshot {
  /** The four buckets' states in `bucketNames` order (undefined = full). */
  buckets: readonly (GcraState | undefined)[];
  /** Open, unexpired leases of the tenant (concurrent requests). */
  open: number;
  /** Tokens reserved by leases not reconciled yet. */
  outstanding: number;
  /** Tokens reconciled this UTC month. */
  monthUsed: number;
}

export interface AdmissionOutcome {
  decision: LimitDecision;
  /** New bucket states to store when admitted (undefined = unchanged). */
  buckets: (GcraState | undefined)[] | null;
}

/** Decide one admission. Quota first (not retryable), then concurrency, then the rate windows. */
export function decide(s: AdmissionSnapshot, a: Admission): AdmissionOutcome {
  const rules = bucketRules(a.limits);
  const costs = [1, a.reserveTokens, 1, a.reserveTokens];
  const takes: (GcraResult | null)[] = rules.map((r, i) => (r ? gcraTake(s.buckets[i], a.now, costs[i]!, r) : null));
  const current = () => currentWindows(s.buckets, a.limits, a.now);
  const deny = (reason: LimitReason, retryAfterMs: number, detail?: { limit: number; used: number }): AdmissionOutcome => ({
    decision: { allowed: false, reason, ...current(), retryAfterMs, ...(detail ? { detail } : {}) },
    buckets: null,
  });
  const { monthlyTokens, maxConcurrent } = a.limits;
  const committed = s.monthUsed + s.outstanding;
  // Refused once the month's tokens are spent or promised to requests still running. A request
  // that fits only in part is admitted: refusing every request whose default reservation (the
  // whole context) exceeds what is left would lock out a tenant long before its quota is used.
  // Overshoot is bounded by what the last admitted requests generate beyond the remainder.
  if (monthlyTokens > 0 && committed >= monthlyTokens) return deny('quota', 0, { limit: monthlyTokens, used: committed });
  if (maxConcurrent > 0 && s.open >= maxConcurrent) return deny('concurrency', 1000, { limit: maxConcurrent, used: s.open });
  const refused = takes.map((t, i) => (t && !t.allowed ? i : -1)).filter((i) => i >= 0);
  if (refused.length > 0) {
    const retry = Math.max(...refused.map((i) => takes[i]!.retryAfterMs));
    return deny(refused.some((i) => i % 2 === 0) ? 'requests' : 'tokens', retry);
  }
  const taken = windows(takes.map((t, i) => (t ? { remaining: t.remaining, resetMs: t.resetMs, limit: rules[i]!.limit } : null)));
  return { decision: { allowed: true, reason: null, ...taken, retryAfterMs: 0 }, buckets: takes.map((t) => t?.state) };
}

/** The windows as they stand, nothing taken: the tighter of tenant and key per kind. */
export function currentWindows(
  buckets: readonly (GcraState | undefined)[],
  limits: EffectiveLimits,
  now: number,
): { requests: RateWindow | null; tokens: RateWindow | null } {
  return windows(bucketRules(limits).map((r, i) => (r ? { ...view(buckets[i]?.tat ?? now, now, r), limit: r.limit } : null)));
}

/** The most restrictive window of tenant and key, per kind. */
function windows(w: (RateWindow | null)[]): { requests: RateWindow | null; tokens: RateWindow | null } {
  const tighter = (x: RateWindow | null, y: RateWindow | null) => (!x ? y : !y ? x : y.remaining < x.remaining ? y : x);
  return { requests: tighter(w[0] ?? null, w[2] ?? null), tokens: tighter(w[1] ?? null, w[3] ?? null) };
}

/** What a lease remembers to reconcile without the principal: its reservation and token rules. */
export interface LeaseRecord {
  id: string;
  tenantId: string;
  keyId: string;
  reserved: number;
  tenantTpm: number;
  keyTpm: number;
}

/**
 * The token buckets after reconciling a lease with `used` tokens: each moves by used − reserved
 * (a refund when the request used less, debt when it used more). Returned in `bucketNames`
 * order for the two token buckets: [tenant tokens, key tokens]; undefined = no such bucket.
 */
export function reconcileTokens(
  lease: LeaseRecord,
  used: number,
  now: number,
  states: [GcraState | undefined, GcraState | undefined],
): [GcraState | undefined, GcraState | undefined] {
  const delta = used - lease.reserved;
  const adjust = (st: GcraState | undefined, tpm: number) =>
    tpm > 0 && delta !== 0 ? gcraAdjust(st, now, delta, { limit: tpm, periodMs: PERIOD_MS }) : undefined;
  return [adjust(states[0], lease.tenantTpm), adjust(states[1], lease.keyTpm)];
}

/** The UTC calendar month of `now`, as the quota counter's key (`2026-12`). */
export function monthOf(now: number): string {
  const d = new Date(now);
  const m = d.getUTCMonth() + 1;
  return `${d.getUTCFullYear()}-${m < 10 ? '0' : ''}${m}`;
}
