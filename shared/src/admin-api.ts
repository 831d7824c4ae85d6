/**
 * The admin API's request and response bodies (DESIGN §3): tenants with limits and a monthly
 * quota, API keys with scopes, expiry and rotation, and usage views for billing. One definition
 * each: the edge validates with them, `/openapi.json` is generated from them, and the admin CLI
 * reads answers with them. Times in bodies are unix seconds, as in the OpenAI API.
 */
import { z } from 'zod';
import { UsageGroupBy } from './usage.ts';

/** Tenant ids appear in URLs, logs and SQL keys: a conservative alphabet. */
export const TenantId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1..128 characters of A-Z a-z 0-9 . _ -')
  .describe('Tenant id (1..128 of A-Z a-z 0-9 . _ -).');

const perMinute = z.number().int().min(0).max(1e12).nullable();

/** Per-tenant limits; null or absent = the edge's default, 0 = unlimited. */
export const TenantLimits = z
  .object({
    rpm: perMinute.optional().describe('Requests per minute.'),
    tpm: perMinute.optional().describe('Tokens per minute (prompt + completion; reserved at admission).'),
    max_concurrent: z.number().int().min(0).max(100_000).nullable().optional().describe('Requests in flight at once.'),
  })
  .strict();
export type TenantLimits = z.infer<typeof TenantLimits>;

/** Per-key limits, applied on top of the tenant's. */
export const KeyLimits = z
  .object({
    rpm: perMinute.optional(),
    tpm: perMinute.optional(),
  })
  .strict();
export type KeyLimits = z.infer<typeof KeyLimits>;

export const TenantQuota = z
  .object({
    monthly_tokens: z.number().int().min(0).max(1e15).nullable().optional().describe('Tokens per UTC calendar month; null = no quota.'),
  })
  .strict();
export type TenantQuota = z.infer<typeof TenantQuota>;

export const TenantCreate = z
  .object({
    id: TenantId,
    name: z.string().max(200).optional(),
    limits: TenantLimits.optional(),
    quota: TenantQuota.optional(),
  })
  .strict();
export type TenantCreate = z.infer<typeof TenantCreate>;

export const TenantPatch = z
  .object({
    name: z.string().max(200).nullable().optional(),
    limits: TenantLimits.optional(),
    quota: TenantQuota.optional(),
    disabled: z.boolean().optional().describe('A disabled tenant authenticates nothing until enabled again.'),
  })
  .strict();
export type TenantPatch = z.infer<typeof TenantPatch>;

const unixSeconds = z.number().int().min(0).max(9_999_999_999);

export const Tenant = z.object({
  object: z.literal('tenant'),
  id: TenantId,
  name: z.string().nullable(),
  limits: TenantLimits,
  quota: TenantQuota,
  created_at: unixSeconds,
  disabled_at: unixSeconds.nullable(),
});
export type Tenant = z.infer<typeof Tenant>;

/** What a key may do. `usage:read` reads the caller's own usage; `admin` is the whole admin API. */
export const KeyScope = z.enum(['inference', 'usage:read', 'admin']);
export type KeyScope = z.infer<typeof KeyScope>;

export const KeyCreate = z
  .object({
    name: z.string().max(200).optional(),
    scopes: z.array(KeyScope).min(1).max(3).optional().describe('Default: inference and usage:read.'),
    expires_at: unixSeconds.optional().describe('Unix seconds after which the key no longer authenticates.'),
    limits: KeyLimits.optional(),
    mode: z.enum(['live', 'test']).optional().describe('The key prefix: mtf_live_ (default) or mtf_test_.'),
  })
  .strict();
export type KeyCreate = z.infer<typeof KeyCreate>;

export const KeyRotate = z
  .object({
    overlap_s: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .optional()
      .describe('Seconds the old key keeps working (default 0: revoked at once).'),
  })
  .strict();
export type KeyRotate = z.infer<typeof KeyRotate>;

export const ApiKey = z.object({
  object: z.literal('api_key'),
  id: z.string(),
  tenant_id: TenantId,
  name: z.string().nullable(),
  prefix: z.string().describe('The first characters of the secret.'),
  last4: z.string(),
  scopes: z.array(z.string()),
  limits: KeyLimits,
  created_at: unixSeconds,
  expires_at: unixSeconds.nullable(),
  revoked_at: unixSeconds.nullable(),
  last_used_at: unixSeconds.nullable().describe('Updated at most once a minute per key.'),
});
export type ApiKey = z.infer<typeof ApiKey>;

/** The answer to create and rotate: the only time the secret is shown. */
export const ApiKeyCreated = ApiKey.extend({
  key: z.string().describe('The secret. Shown once; store it now.'),
  replaces: z.string().optional().describe('Rotate: the id of the key this one replaces.'),
});
export type ApiKeyCreated = z.infer<typeof ApiKeyCreated>;

export const List = <T extends z.ZodType>(item: T) => z.object({ object: z.literal('list'), data: z.array(item) });

/** `GET /admin/usage`: every tenant's usage (or one's), grouped. */
export const AdminUsageQuery = z
  .object({
    tenant: TenantId.optional(),
    from: z.coerce.number().int().optional().describe('Unix seconds or ms, inclusive.'),
    to: z.coerce.number().int().optional().describe('Unix seconds or ms, exclusive.'),
    group_by: z.enum([...UsageGroupBy.options, 'tenant']).default('day'),
  })
  .strict();
export type AdminUsageQuery = z.infer<typeof AdminUsageQuery>;

/** `GET /admin/usage/export`: hourly rows for a metered-billing provider. */
export const UsageExportQuery = z
  .object({
    tenant: TenantId.optional(),
    from: z.coerce.number().int().optional().describe('Unix seconds or ms, inclusive; default: 31 days before `to`.'),
    to: z.coerce.number().int().optional().describe('Unix seconds or ms, exclusive; default: the end of the current hour. At most 400 days.'),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();
export type UsageExportQuery = z.infer<typeof UsageExportQuery>;

/**
 * One tenant × model × UTC hour of billed usage. `idempotency_key` is stable for that triple, so
 * re-exporting an hour never adds a second event at the provider (it drops the duplicate); `final`
 * says the hour closed long enough ago (15 minutes) that no more records are expected: send an
 * hour once it is final (edge/src/usage/README.md).
 */
export const UsageExportRow = z.object({
  idempotency_key: z.string(),
  tenant_id: TenantId,
  model: z.string(),
  hour_start: z.string().describe('ISO 8601, UTC, on the hour.'),
  requests: z.number().int(),
  prompt_tokens: z.number().int(),
  cached_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  /** Of `requests`, those the edge's response cache answered (billed as `cached`). */
  cache_hits: z.number().int(),
  final: z.boolean(),
});
export type UsageExportRow = z.infer<typeof UsageExportRow>;
