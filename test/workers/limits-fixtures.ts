/** Admissions for the limiter tests inside workerd: one lease per call, limits 0 (unlimited) unless given. */
import type { Admission, EffectiveLimits } from '../../edge/src/ports.ts';

/** An admission of tenant `tenantId` at `now` reserving `reserveTokens` (default 10). */
export function admission(tenantId: string, now: number, limits: Partial<EffectiveLimits>, reserveTokens = 10): Admission {
  return {
    leaseId: `lease-${crypto.randomUUID()}`,
    tenantId,
    keyId: `${tenantId}-key`,
    limits: { tenantRpm: 0, tenantTpm: 0, keyRpm: 0, keyTpm: 0, maxConcurrent: 0, monthlyTokens: 0, ...limits },
    reserveTokens,
    now,
    expiresAt: now + 60_000,
  };
}
