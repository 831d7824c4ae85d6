/**
 * An in-isolate / in-process cache in front of a remote KeyStore (the keys Durable Object):
 * a key is looked up remotely once per TTL instead of once per request. The price is that a
 * revocation takes up to `ttlMs` to reach every isolate; unknown keys are cached briefly too, so
 * a client hammering with a bad key does not hammer the store.
 */
import type { Clock, KeyStore, Principal } from '../../ports.ts';

export interface CachedKeyStoreOptions {
  clock: Clock;
  /** How long a found principal is reused (default 30 s). */
  ttlMs?: number;
  /** How long a miss is remembered (default 5 s). */
  negativeTtlMs?: number;
  /** Entries kept; the oldest are dropped beyond it (default 10 000). */
  maxEntries?: number;
}

/** Wrap `inner` with a TTL cache; validates options. */
export function cachedKeyStore(inner: KeyStore, opts: CachedKeyStoreOptions): KeyStore {
  const ttlMs = opts.ttlMs ?? 30_000;
  const negativeTtlMs = opts.negativeTtlMs ?? 5_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  if (!(ttlMs >= 0 && negativeTtlMs >= 0)) throw new Error('cachedKeyStore: TTLs must be ≥ 0');
  if (!(Number.isInteger(maxEntries) && maxEntries > 0)) throw new Error('cachedKeyStore: maxEntries must be a positive integer');
  const cache = new Map<string, { until: number; principal: Principal | null }>();
  return {
    async findByHash(hash, now) {
      const hit = cache.get(hash);
      if (hit && hit.until > opts.clock.now()) return hit.principal;
      const principal = await inner.findByHash(hash, now);
      cache.delete(hash);
      if (cache.size >= maxEntries) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(hash, { until: opts.clock.now() + (principal ? ttlMs : negativeTtlMs), principal });
      return principal;
    },
    async putKey(record) {
      await inner.putKey(record);
      cache.delete(record.hash);
    },
    listTenants: () => inner.listTenants(),
  };
}
