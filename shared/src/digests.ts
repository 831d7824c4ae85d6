/**
 * The hashing the request path needs (body sha256, HMAC-SHA256 for signatures and API-key
 * hashes) as a port. The default is WebCrypto, which every runtime has; on Node each WebCrypto
 * call is a hop to a thread pool and back (a promise, a transfer, a microtask), which costs more
 * than the hash itself for the small inputs of a request. Node's composition roots pass a
 * synchronous node:crypto implementation instead (edge/src/adapters/node/digests.ts).
 */

export interface Digests {
  sha256Hex(data: Uint8Array | string): string | Promise<string>;
  /** HMAC-SHA256 of `data` under `secret`, as lowercase hex. */
  hmacSha256Hex(secret: string, data: Uint8Array | string): string | Promise<string>;
}

const enc = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let k = keyCache.get(secret);
  if (!k) {
    k = crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    // Secrets are few (a keyring, a pepper); the bound only guards against a misuse.
    if (keyCache.size >= 64) keyCache.clear();
    keyCache.set(secret, k);
  }
  return k;
}

const bytesOf = (data: Uint8Array | string) => (typeof data === 'string' ? enc.encode(data) : data) as Uint8Array<ArrayBuffer>;

export function toHex(buf: ArrayBuffer | Uint8Array): string {
  const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

/** WebCrypto digests: the default everywhere. */
export const webDigests: Digests = {
  async sha256Hex(data) {
    return toHex(await crypto.subtle.digest('SHA-256', bytesOf(data)));
  },
  async hmacSha256Hex(secret, data) {
    return toHex(await crypto.subtle.sign('HMAC', await hmacKey(secret), bytesOf(data)));
  },
};

/**
 * Compare two strings in time that depends only on their lengths (hex digests of equal length
 * in practice), so a mismatch position cannot be learned by timing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
