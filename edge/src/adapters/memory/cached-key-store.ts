/**
 * An in-isolate / in-process cache in front of a KeyStore (the keys Durable Object on Workers, the
 * SQLite file on Node): a key (and a tenant, for JWT callers) is looked up once per TTL instead of
 * once per request. The price is the bound on revocation: a key revoked through another isolate still
 * authenticates here for up to `ttlMs` (10 s by default); a change made through this isolate
 * clears its cache at once, and so does any change when the store can say it changed (`changed`,
 * exact on Node). Unknown keys are cached more briefly, so a client hammering with a
 * bad key does not hammer the store, and a key created elsewhere works within `negativeTtlMs`.
 */
import type { Clock, KeyMatch, KeyStore, TenantRecord } from '../../ports.ts';

export interface CachedKeyStoreOptions {
  clock: Clock;
  /** How long a found key or tenant is reused: the revocation bound (default 10 s). */
  ttlMs?: number;
  /** How long a miss is remembered (default 2 s). */
  negativeTtlMs?: number;
  /** Entries kept per cache; the oldest are dropped beyond it (default 10 000). */
  maxEntries?: number;
  /**
   * Whether the store may have been changed from elsewhere since the last call (Node: a counter
   * that triggers move on any change to tenants or keys, stores/sql-keys-version.ts). Given, every
   * lookup asks first and a change clears the caches, so a revocation anywhere takes effect at
   * once; the TTLs then only bound what a store without such a signal would serve stale.
   */
  changed?: () => boolean;
}

/** Wrap `inner` with TTL caches of lookups; validates options. */
export function cachedKeyStore(inner: KeyStore, opts: CachedKeyStoreOptions): KeyStore {
  const ttlMs = opts.ttlMs ?? 10_000;
  const negativeTtlMs = opts.negativeTtlMs ?? 2_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  if (!(ttlMs >= 0 && negativeTtlMs >= 0)) throw new Error('cachedKeyStore: TTLs must be ≥ 0');
  if (!(Number.isInteger(maxEntries) && maxEntries > 0)) throw new Error('cachedKeyStore: maxEntries must be a positive integer');
  const keys = ttlCache<KeyMatch>(maxEntries);
  const tenants = ttlCache<TenantRecord>(maxEntries);
  const ttl = (found: unknown) => opts.clock.now() + (found ? ttlMs : negativeTtlMs);
  const cleared = <T>(p: Promise<T>): Promise<T> =>
    p.finally(() => {
      keys.clear();
      tenants.clear();
    });
  const fresh = () => {
    if (opts.changed?.()) {
      keys.clear();
      tenants.clear();
    }
  };
  return {
    async findByHash(hash, now) {
      fresh();
      const hit = keys.get(hash, opts.clock.now());
      if (hit !== undefined) return hit;
      const match = await inner.findByHash(hash, now);
      keys.set(hash, match, ttl(match));
      return match;
    },
    async getTenant(id) {
      fresh();
      const hit = tenants.get(id, opts.clock.now());
      if (hit !== undefined) return hit;
      const t = await inner.getTenant(id);
      tenants.set(id, t, ttl(t));
      return t;
    },
    touchKey: (keyId, at) => inner.touchKey(keyId, at),
    listTenants: () => inner.listTenants(),
    getKey: (keyId) => inner.getKey(keyId),
    listKeys: (tenantId) => inner.listKeys(tenantId),
    putKey: (record) => cleared(inner.putKey(record)),
    createTenant: (t) => cleared(inner.createTenant(t)),
    updateTenant: (id, u, now) => cleared(inner.updateTenant(id, u, now)),
    deleteTenant: (id, now) => cleared(inner.deleteTenant(id, now)),
    revokeKey: (keyId, now) => cleared(inner.revokeKey(keyId, now)),
    rotateKey: (oldKeyId, next, retireAt, now) => cleared(inner.rotateKey(oldKeyId, next, retireAt, now)),
  };
}

/** A bounded map of values (null = a remembered miss) that expire; undefined = not cached. */
function ttlCache<T>(maxEntries: number) {
  const map = new Map<string, { until: number; value: T | null }>();
  return {
    get(k: string, now: number): T | null | undefined {
      const hit = map.get(k);
      return hit && hit.until > now ? hit.value : undefined;
    },
    set(k: string, value: T | null, until: number): void {
      map.delete(k);
      if (map.size >= maxEntries) {
        const oldest = map.keys().next().value;
        if (oldest !== undefined) map.delete(oldest);
      }
      map.set(k, { until, value });
    },
    clear: () => map.clear(),
  };
}
