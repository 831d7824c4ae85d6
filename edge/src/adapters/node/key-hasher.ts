/**
 * The Node key hasher: HMAC-SHA256 under the pepper with node:crypto, synchronous (a few
 * microseconds, no promise per request; a cached key costs a map lookup), same output as the Web
 * Crypto one (keys/key-hash.ts).
 */
import { createHmac } from 'node:crypto';
import { checkPepper, type KeyHasherOptions, withHashCache } from '../../keys/key-hash.ts';
import type { KeyHasher } from '../../ports.ts';

/** A synchronous node:crypto key hasher with a small bounded cache. */
export function nodeKeyHasher(pepper: string, opts: KeyHasherOptions = {}): KeyHasher {
  checkPepper(pepper);
  return withHashCache((secret) => createHmac('sha256', pepper).update(secret).digest('hex'), opts);
}
