/**
 * The Node key hasher: HMAC-SHA256 under the pepper with node:crypto, synchronous (a few
 * microseconds, no promise per request), same output as the Web Crypto one (keys/key-hash.ts).
 */
import { createHmac } from 'node:crypto';
import { checkPepper } from '../../keys/key-hash.ts';
import type { KeyHasher } from '../../ports.ts';

/** A synchronous node:crypto key hasher. */
export function nodeKeyHasher(pepper: string): KeyHasher {
  checkPepper(pepper);
  return (secret) => createHmac('sha256', pepper).update(secret).digest('hex');
}
