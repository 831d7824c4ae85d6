/**
 * API-key authentication: classify the presented secret (an `mtf_` key with a bad checksum is
 * refused without a lookup), hash it under the pepper, look the hash up, compare the stored hash
 * in constant time and recheck expiry (a cached match must not outlive its key). Each use is
 * recorded as `last_used_at` at most once a minute per key, off the request's path, so the hot
 * path does one indexed read and no write.
 */
import { classifyKey } from '../../keys/key-format.ts';
import { hashesEqual } from '../../keys/key-hash.ts';
import type { Clock, KeyHasher, KeyStore, Principal } from '../../ports.ts';

/** Run work after the response (Worker: `waitUntil`; Node: just let the promise run). */
export type Background = (work: Promise<unknown>) => void;

/** Resolve a bearer token to its principal, or null when it authenticates nothing. */
export type Authenticator = (token: string, background: Background) => Promise<Principal | null>;

export interface KeyAuthOptions {
  keys: KeyStore;
  hash: KeyHasher;
  clock: Clock;
  /** Minimum time between two `last_used_at` writes of one key (default 60 s). */
  touchEveryMs?: number;
  /** Keys whose last write time is remembered; the memory is dropped beyond it (default 10 000). */
  touchEntries?: number;
  onTouchError?: (err: unknown) => void;
}

/** An Authenticator over the KeyStore; validates its options at creation. */
export function keyAuthenticator(opts: KeyAuthOptions): Authenticator {
  if (!opts.keys || typeof opts.keys.findByHash !== 'function') throw new Error('keyAuthenticator: keys (KeyStore) is required');
  if (typeof opts.hash !== 'function') throw new Error('keyAuthenticator: hash (KeyHasher) is required');
  if (!opts.clock) throw new Error('keyAuthenticator: clock is required');
  const touchEveryMs = opts.touchEveryMs ?? 60_000;
  const touchEntries = opts.touchEntries ?? 10_000;
  const onTouchError = opts.onTouchError ?? (() => {});
  const lastTouch = new Map<string, number>();
  return async (token, background) => {
    if (classifyKey(token) === 'invalid') return null;
    const now = opts.clock.now();
    const hash = await opts.hash(token);
    const match = await opts.keys.findByHash(hash, now);
    if (!match || !hashesEqual(match.hash, hash)) return null;
    if (match.expiresAt !== null && match.expiresAt <= now) return null;
    const keyId = match.principal.keyId;
    const last = lastTouch.get(keyId);
    if (last === undefined || now - last >= touchEveryMs) {
      if (lastTouch.size >= touchEntries) lastTouch.clear();
      lastTouch.set(keyId, now);
      background(opts.keys.touchKey(keyId, now).catch(onTouchError));
    }
    return match.principal;
  };
}
