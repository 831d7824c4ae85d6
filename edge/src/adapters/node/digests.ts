/**
 * Digests on node:crypto, synchronous: a request's hashes (body sha256, the signature HMAC, the
 * API-key HMAC) run inline instead of through WebCrypto's thread-pool round trip.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Digests } from '#shared/digests.ts';

export const nodeDigests: Digests = {
  sha256Hex: (data) => createHash('sha256').update(data).digest('hex'),
  hmacSha256Hex: (secret, data) => createHmac('sha256', secret).update(data).digest('hex'),
};
