import { describe, expect, it } from 'vitest';
import type { Admission, EffectiveLimits } from '../../ports.ts';
import { type AdmissionSnapshot, decide, estimatePromptTokens, LimitDefaults, monthOf, reconcileTokens, reservation, resolveLimits } from './policy.ts';

const UNLIMITED: EffectiveLimits = { tenantRpm: 0, tenantTpm: 0, keyRpm: 0, keyTpm: 0, maxConcurrent: 0, monthlyTokens: 0 };
const EMPTY: AdmissionSnapshot = { buckets: [undefined, undefined, undefined, undefined], open: 0, outstanding: 0, monthUsed: 0 };
const admission = (limits: Partial<EffectiveLimits>, reserveTokens = 10): Admission => ({
  leaseId: 'l1',
  tenantId: 't',
  keyId: 'k',
  limits: { ...UNLIMITED, ...limits },
  reserveTokens,
  now: 1_000_000,
  expiresAt: 2_000_000,
});

describe('resolving limits', () => {
  const d = LimitDefaults.parse({ requestsPerMinute: 60, tokensPerMinute: 1000, maxConcurrent: 3, monthlyTokens: 5000 });
  it.each([
    {
      name: 'no record limits: tenant defaults, no key limit',
      p: undefined,
      want: { tenantRpm: 60, tenantTpm: 1000, keyRpm: 0, keyTpm: 0, maxConcurrent: 3, monthlyTokens: 5000 },
    },
    {
      name: 'record values win; 0 stays unlimited',
      p: { tenant: { rpm: 0, tpm: 50, maxConcurrent: 2 }, key: { rpm: 5, tpm: null }, monthlyTokens: 0 },
      want: { tenantRpm: 0, tenantTpm: 50, keyRpm: 5, keyTpm: 0, maxConcurrent: 2, monthlyTokens: 0 },
    },
  ])('$name', ({ p, want }) => {
    expect(resolveLimits(p, d)).toEqual(want);
  });
});

describe('reservation', () => {
  const l = { ...UNLIMITED, tenantTpm: 100_000 };
  it.each([
    { name: 'prompt + max_tokens', prompt: 20, max: 100, ctx: 4096, limits: l, want: 120 },
    { name: 'no max_tokens: the whole context', prompt: 20, max: undefined, ctx: 4096, limits: l, want: 4096 },
    { name: 'capped at the context', prompt: 4000, max: 1000, ctx: 4096, limits: l, want: 4096 },
    { name: 'capped at the smallest tokens/min (key)', prompt: 20, max: 1000, ctx: 4096, limits: { ...l, keyTpm: 300 }, want: 300 },
  ])('$name', ({ prompt, max, ctx, limits, want }) => {
    expect(reservation(prompt, max, ctx, limits)).toBe(want);
  });

  it('estimates prompt tokens from bytes, over rather than under for English', () => {
    expect(estimatePromptTokens(400, 1)).toBe(104);
    expect(estimatePromptTokens(0, 2)).toBe(8);
  });
});

describe('decide', () => {
  it.each([
    { name: 'unlimited admits', limits: {}, snap: EMPTY, reason: null },
    {
      name: 'monthly quota: used + outstanding reservations reach it',
      limits: { monthlyTokens: 100 },
      snap: { ...EMPTY, monthUsed: 60, outstanding: 40 },
      reason: 'quota',
    },
    {
      name: 'monthly quota: some left, even less than this reservation',
      limits: { monthlyTokens: 100 },
      snap: { ...EMPTY, monthUsed: 60, outstanding: 39 },
      reason: null,
    },
    { name: 'concurrency cap reached', limits: { maxConcurrent: 2 }, snap: { ...EMPTY, open: 2 }, reason: 'concurrency' },
    { name: 'concurrency below the cap', limits: { maxConcurrent: 2 }, snap: { ...EMPTY, open: 1 }, reason: null },
    {
      name: 'key requests bucket empty',
      limits: { keyRpm: 1 },
      snap: { ...EMPTY, buckets: [undefined, undefined, { tat: 1_060_000 }, undefined] },
      reason: 'requests',
    },
    {
      name: 'tenant tokens bucket short',
      limits: { tenantTpm: 100 },
      snap: { ...EMPTY, buckets: [undefined, { tat: 1_055_000 }, undefined, undefined] },
      reason: 'tokens',
    },
  ] as const)('$name', ({ limits, snap, reason }) => {
    const out = decide(snap, admission(limits));
    expect(out.decision.reason).toBe(reason);
    expect(out.decision.allowed).toBe(reason === null);
    expect(out.buckets === null).toBe(reason !== null);
  });

  it('reports the most restrictive of the tenant and key windows', () => {
    const { decision } = decide(EMPTY, admission({ tenantRpm: 100, keyRpm: 3, tenantTpm: 1000, keyTpm: 50_000 }, 10));
    expect(decision.requests).toMatchObject({ limit: 3, remaining: 2 });
    expect(decision.tokens).toMatchObject({ limit: 1000, remaining: 990 });
  });

  it('a refused rate says when to retry; a quota does not', () => {
    const full = decide({ ...EMPTY, buckets: [{ tat: 1_060_000 }, undefined, undefined, undefined] }, admission({ tenantRpm: 4 }));
    expect(full.decision.retryAfterMs).toBe(15_000);
    expect(full.decision.requests).toMatchObject({ remaining: 0 });
    expect(decide({ ...EMPTY, monthUsed: 100 }, admission({ monthlyTokens: 100 })).decision.retryAfterMs).toBe(0);
  });
});

describe('reconciling tokens', () => {
  const lease = { id: 'l', tenantId: 't', keyId: 'k', reserved: 100, tenantTpm: 600, keyTpm: 0 };
  it('refunds what was reserved and not used, charges more as debt', () => {
    const now = 0;
    const reserved = { tat: 10_000 }; // 100 tokens at 600/min = 10 s ahead
    expect(reconcileTokens(lease, 40, now, [reserved, undefined])).toEqual([{ tat: 4_000 }, undefined]);
    expect(reconcileTokens(lease, 700, now, [reserved, undefined])).toEqual([{ tat: 70_000 }, undefined]);
    expect(reconcileTokens(lease, 100, now, [reserved, undefined])).toEqual([undefined, undefined]);
  });
});

it('months are UTC calendar months', () => {
  expect(monthOf(Date.UTC(2026, 11, 31, 23, 59, 59))).toBe('2026-12');
  expect(monthOf(Date.UTC(2027, 0, 1))).toBe('2027-01');
});
