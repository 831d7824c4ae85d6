/**
 * Key records and scopes: what the store keeps for a new key, a seeded (legacy-format) key or a
 * rotation, and how a principal's scopes are checked. Stored scopes from before `usage:read`
 * existed (`usage`) and the wildcard `*` keep their meaning.
 */
import type { KeyScope } from '#shared/admin-api.ts';
import type { ApiKeyRecord, KeyHasher } from '../ports.ts';
import { generateKey, isPlausibleKey, type KeyMode, randomId, visiblePrefix } from './key-format.ts';

export const SCOPES = { inference: 'inference', usageRead: 'usage:read', admin: 'admin' } as const satisfies Record<string, KeyScope>;
export const DEFAULT_SCOPES: KeyScope[] = [SCOPES.inference, SCOPES.usageRead];
/** Older stored scopes and what they grant now. */
const ALIASES: Record<string, readonly string[]> = { usage: [SCOPES.usageRead], '*': Object.values(SCOPES) };

/** Whether `scopes` (as stored or claimed) grant `required`. */
export function hasScope(scopes: readonly string[], required: KeyScope): boolean {
  return scopes.some((s) => s === required || ALIASES[s]?.includes(required) === true);
}

export interface NewKeyInput {
  tenantId: string;
  name?: string | null;
  scopes?: string[];
  limits?: { rpm?: number | null; tpm?: number | null };
  expiresAt?: number | null;
  mode?: KeyMode;
  createdAt: number;
}

/** A fresh `mtf_` key: its secret (shown once) and the record to store. */
export async function newKey(input: NewKeyInput, hash: KeyHasher): Promise<{ secret: string; record: ApiKeyRecord }> {
  const secret = generateKey(input.mode);
  const record = await recordFor(secret, `key_${randomId(20)}`, input, hash);
  return { secret, record };
}

/**
 * The record of an externally chosen secret (the development key of MOTIF_DEV_API_KEY, test
 * keys). Its id derives from the hash, so seeding the same secret at every start updates one
 * record instead of adding another.
 */
export async function seededKeyRecord(secret: string, input: NewKeyInput, hash: KeyHasher): Promise<ApiKeyRecord> {
  if (!isPlausibleKey(secret)) throw new Error('API key must be 16..256 printable ASCII characters');
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(input.tenantId)) throw new Error('tenant id must be 1..128 of [A-Za-z0-9._-]');
  const digest = await hash(secret);
  return recordFor(secret, `key_${digest.slice(0, 16)}`, input, () => digest);
}

async function recordFor(secret: string, keyId: string, input: NewKeyInput, hash: KeyHasher): Promise<ApiKeyRecord> {
  return {
    keyId,
    tenantId: input.tenantId,
    hash: await hash(secret),
    prefix: visiblePrefix(secret),
    last4: secret.slice(-4),
    name: input.name ?? null,
    scopes: input.scopes ?? [...DEFAULT_SCOPES],
    limits: { rpm: input.limits?.rpm ?? null, tpm: input.limits?.tpm ?? null },
    createdAt: input.createdAt,
    expiresAt: input.expiresAt ?? null,
    revokedAt: null,
    lastUsedAt: null,
  };
}

/**
 * When a usable key stops authenticating by time alone: the earliest of its expiry, a revocation
 * scheduled for later (the old key of a rotation with an overlap) and its tenant's scheduled
 * disabling; null when none is set. A cached match is good until then and no longer.
 */
export function matchEndsAt(...ends: (number | null)[]): number | null {
  let first: number | null = null;
  for (const at of ends) if (at !== null && (first === null || at < first)) first = at;
  return first;
}
