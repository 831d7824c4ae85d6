/**
 * Key hashing under the server pepper: HMAC-SHA256, so a copy of the key table alone cannot be
 * used to test guesses. The HMAC comes from the Digests port: WebCrypto on the Worker (and in
 * tests), node:crypto on Node (synchronous: no promise per request). Either way behind a cache.
 */
import { constantTimeEqual, type Digests, webDigests } from '#shared/digests.ts';
import type { KeyHasher } from '../ports.ts';

/** Shortest pepper accepted: 32 characters, about as strong as the HMAC key can usefully be. */
export const MIN_PEPPER_LENGTH = 32;

export interface KeyHasherOptions {
  /** Secrets whose hash is remembered, so a busy key is not re-hashed per request (default 1000). */
  cacheEntries?: number;
}

/** An HMAC-SHA256 key hasher under `pepper`, with a small bounded cache. */
export function pepperedKeyHasher(pepper: string, digests: Digests = webDigests, opts: KeyHasherOptions = {}): KeyHasher {
  checkPepper(pepper);
  return withHashCache((secret) => digests.hmacSha256Hex(pepper, secret), opts);
}

/**
 * `hash` behind a bounded map secret → hash: a key in use costs a map lookup instead of an HMAC
 * (Web Crypto: ~50-100 µs and a promise; node:crypto: a few µs). Only hashes of keys that were
 * presented are kept, in the same process memory that saw the secrets anyway.
 */
export function withHashCache(hash: KeyHasher, opts: KeyHasherOptions = {}): KeyHasher {
  const cacheEntries = opts.cacheEntries ?? 1000;
  if (!(Number.isInteger(cacheEntries) && cacheEntries >= 0)) throw new Error('key hasher: cacheEntries must be an integer ≥ 0');
  if (cacheEntries === 0) return hash;
  const cache = new Map<string, string>();
  const remember = (secret: string, hex: string) => {
    // Dropping everything when full is cheaper than LRU bookkeeping and bounded all the same.
    if (cache.size >= cacheEntries) cache.clear();
    cache.set(secret, hex);
    return hex;
  };
  return (secret) => {
    const hit = cache.get(secret);
    if (hit !== undefined) return hit;
    const out = hash(secret);
    return typeof out === 'string' ? remember(secret, out) : out.then((hex) => remember(secret, hex));
  };
}

/** Throw unless `pepper` is long enough to be an HMAC key worth having. */
export function checkPepper(pepper: string): void {
  if (typeof pepper !== 'string' || pepper.length < MIN_PEPPER_LENGTH) throw new Error(`the key pepper must be at least ${MIN_PEPPER_LENGTH} characters`);
}

/** Whether two hex digests are equal, in a time that does not depend on where they differ. */
export const hashesEqual = constantTimeEqual;
