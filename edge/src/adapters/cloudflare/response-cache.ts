/**
 * The response cache on Workers: the Cache API (`caches.default`), each entry a synthetic GET
 * URL under a host no request reaches, built from the key, holding the entry as its body with
 * `cache-control: max-age` = the TTL. The Cache API is per data centre: a hit needs an earlier
 * miss in the same colo; entries are evicted by Cloudflare under its own limits (512 MB per
 * object, LRU by the colo), and `*.workers.dev` routes have no cache (every put is a no-op).
 */
import type { ResponseCacheStore } from '../../ports.ts';

/** The part of the Cache API the store uses (workerd's `caches.default`). */
export interface CacheApi {
  match(request: string): Promise<{ text(): Promise<string> } | undefined>;
  put(request: string, response: Response): Promise<void>;
}

/** Synthetic URLs of cache entries; the host is reserved (RFC 6761 `.invalid`), so no real request maps to one. */
const CACHE_BASE = 'https://response-cache.motif.invalid/v1/';

/** A ResponseCacheStore over a Cache API instance. */
export function cacheApiResponseCache(cache: CacheApi): ResponseCacheStore {
  return {
    async get(key) {
      const res = await cache.match(CACHE_BASE + key);
      return res ? await res.text() : undefined;
    },
    async put(key, value, ttlMs) {
      const maxAge = Math.max(1, Math.ceil(ttlMs / 1000));
      await cache.put(CACHE_BASE + key, new Response(value, { headers: { 'content-type': 'application/json', 'cache-control': `max-age=${maxAge}` } }));
    },
  };
}
