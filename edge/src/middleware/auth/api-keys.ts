/**
 * API key material: generation, hashing and the record the KeyStore keeps. Keys look like
 * `sk-motif-<32 base62 chars>`; only their sha256, a visible prefix and the last four characters
 * are stored, so a leaked database does not leak usable keys.
 */
import { type Digests, webDigests } from '#shared/digests.ts';
import type { ApiKeyRecord } from '../../ports.ts';

export const KEY_PREFIX = 'sk-motif-';
const VISIBLE_PREFIX = 12;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Scopes a key can carry; `*` grants everything. */
export const SCOPES = { inference: 'inference', usage: 'usage', admin: 'admin', all: '*' } as const;
export const DEFAULT_SCOPES: string[] = [SCOPES.inference, SCOPES.usage];

/** A fresh random key secret (shown to its owner once, never stored). */
export function generateApiKey(): string {
  // Rejection sampling keeps every character uniformly likely (256 is not a multiple of 62).
  let out = KEY_PREFIX;
  while (out.length < KEY_PREFIX.length + 32) {
    for (const b of crypto.getRandomValues(new Uint8Array(48))) {
      if (b < 248 && out.length < KEY_PREFIX.length + 32) out += ALPHABET[b % 62];
    }
  }
  return out;
}

/** Hex sha256 of a key secret: the lookup key of the KeyStore. */
export async function hashApiKey(secret: string, digests: Digests = webDigests): Promise<string> {
  return digests.sha256Hex(secret);
}

/** Plausible-looking key text (printable ASCII, sane length); anything else is rejected unhashed. */
export function isPlausibleKey(secret: string): boolean {
  return secret.length >= 16 && secret.length <= 256 && /^[\x21-\x7e]+$/.test(secret);
}

export interface NewKeyInput {
  secret: string;
  tenantId: string;
  scopes?: string[];
  createdAt: number;
}

/**
 * The stored record for a key. The key id derives from the hash, so seeding the same secret
 * twice (e.g. the dev key at every start) updates one record instead of adding another.
 */
export async function keyRecord(input: NewKeyInput): Promise<ApiKeyRecord> {
  if (!isPlausibleKey(input.secret)) throw new Error('API key must be 16..256 printable ASCII characters');
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(input.tenantId)) throw new Error('tenant id must be 1..128 of [A-Za-z0-9._-]');
  const hash = await hashApiKey(input.secret);
  return {
    keyId: `key_${hash.slice(0, 16)}`,
    tenantId: input.tenantId,
    hash,
    prefix: input.secret.slice(0, VISIBLE_PREFIX),
    last4: input.secret.slice(-4),
    scopes: input.scopes ?? DEFAULT_SCOPES,
    createdAt: input.createdAt,
    revokedAt: null,
  };
}
