/**
 * Tenant records: a new tenant from the admin API's body, and what a patch means (one
 * definition, so every KeyStore implementation agrees).
 */
import type { TenantRecord, TenantUpdate } from '../ports.ts';

export interface NewTenantInput {
  id: string;
  name?: string | null;
  limits?: { rpm?: number | null; tpm?: number | null; maxConcurrent?: number | null };
  monthlyTokens?: number | null;
  createdAt: number;
}

/** A tenant record with every unset limit null (= the edge's default). */
export function newTenant(input: NewTenantInput): TenantRecord {
  return {
    id: input.id,
    name: input.name ?? null,
    limits: { rpm: input.limits?.rpm ?? null, tpm: input.limits?.tpm ?? null, maxConcurrent: input.limits?.maxConcurrent ?? null },
    monthlyTokens: input.monthlyTokens ?? null,
    createdAt: input.createdAt,
    disabledAt: null,
  };
}

/** The tenant after `u` (shared by every store so they agree on what a patch means). */
export function applyTenantUpdate(t: TenantRecord, u: TenantUpdate, now: number): TenantRecord {
  const limits = { ...t.limits };
  for (const k of ['rpm', 'tpm', 'maxConcurrent'] as const) if (u.limits && u.limits[k] !== undefined) limits[k] = u.limits[k] ?? null;
  return {
    ...t,
    name: u.name === undefined ? t.name : u.name,
    limits,
    monthlyTokens: u.monthlyTokens === undefined ? t.monthlyTokens : u.monthlyTokens,
    disabledAt: u.disabled === undefined ? t.disabledAt : u.disabled ? (t.disabledAt ?? now) : null,
  };
}
