/**
 * Stored records → the admin API's JSON (shared/src/admin-api.ts), and the admin request body
 * reader. Times are epoch ms inside the edge and unix seconds on the wire.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import type { ApiKey, Tenant } from '#shared/admin-api.ts';
import { fromZodError } from '#shared/errors.ts';
import { parseJson, readBodyLimited } from '#shared/request-body.ts';
import type { ApiKeyRecord, TenantRecord } from '../../ports.ts';

/** Admin bodies are small; anything bigger is a mistake or an attack. */
const MAX_ADMIN_BODY_BYTES = 64 * 1024;

const seconds = (ms: number) => Math.floor(ms / 1000);
const secondsOrNull = (ms: number | null) => (ms === null ? null : seconds(ms));

export function tenantView(t: TenantRecord): Tenant {
  return {
    object: 'tenant',
    id: t.id,
    name: t.name,
    limits: { rpm: t.limits.rpm, tpm: t.limits.tpm, max_concurrent: t.limits.maxConcurrent },
    quota: { monthly_tokens: t.monthlyTokens },
    created_at: seconds(t.createdAt),
    disabled_at: secondsOrNull(t.disabledAt),
  };
}

export function keyView(k: ApiKeyRecord): ApiKey {
  return {
    object: 'api_key',
    id: k.keyId,
    tenant_id: k.tenantId,
    name: k.name,
    prefix: k.prefix,
    last4: k.last4,
    scopes: k.scopes,
    limits: { rpm: k.limits.rpm, tpm: k.limits.tpm },
    created_at: seconds(k.createdAt),
    expires_at: secondsOrNull(k.expiresAt),
    revoked_at: secondsOrNull(k.revokedAt),
    last_used_at: secondsOrNull(k.lastUsedAt),
  };
}

/** An id from the URL as echoed in an error: bounded, so a huge path does not make a huge answer. */
export function shownId(id: string): string {
  return id.length > 130 ? `${id.slice(0, 128)}…` : id;
}

/** The request's JSON body validated by `schema`; an empty body counts as `{}`. 400 naming the field otherwise. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const bytes = await readBodyLimited(c.req.raw, MAX_ADMIN_BODY_BYTES);
  const parsed = schema.safeParse(bytes.length === 0 ? {} : parseJson(bytes));
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data;
}
