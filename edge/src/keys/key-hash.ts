/**
 * Key hashing under the server pepper: HMAC-SHA256, so a copy of the key table alone cannot be
 * used to test guesses. The Web Crypto version here serves the Worker (and tests); Node injects a
 * synchronous node:crypto one (adapters/node/key-hasher.ts). Both keep a small cache.
 */
import type { KeyHasher } from '../ports.ts';

/** Shortest pepper accepted: 32 characters, about as strong as the HMAC key can usefully be. */
export const MIN_PEPPER_LENGTH = 32;

export interface KeyHasherOptions {
  /** Secrets whose hash is remembered, so a busy key is not re-hashed per request (default 1000). */
  cacheEntries?: number;
}

/** A Web Crypto HMAC-SHA256 key hasher with a small bounded cache. */
export function webCryptoKeyHasher(pepper: string, opts: KeyHasherOptions = {}): KeyHasher {
  checkPepper(pepper);
  const enc = new TextEncoder();
  const key = crypto.subtle.importKey('raw', enc.encode(pepper), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return withHashCache(async (secret) => {
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await key, enc.encode(secret)));
    return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
  }, opts);
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
export function hashesEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
