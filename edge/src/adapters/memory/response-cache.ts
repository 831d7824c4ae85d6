/**
 * The response cache in this process's memory: an LRU (lru-cache) bounded by entries and by the
 * bytes of the entries it holds, each with its TTL. The Node edge's store (one per process, not
 * shared by the host's edge processes) and the tests' one.
 */
import { LRUCache } from 'lru-cache';
import { utf8Length } from '#shared/prompt-size.ts';
import type { Clock, ResponseCacheStore } from '../../ports.ts';

export interface MemoryResponseCacheOptions {
  maxEntries: number;
  /** Bound on the UTF-8 bytes of all entries held; the least recently used go first. */
  maxBytes: number;
  /** TTLs are measured on this clock (default: the LRU's own monotonic one). */
  clock?: Clock;
}

/** A bounded in-memory ResponseCacheStore; `size` and `bytes` for tests and metrics. */
export function memoryResponseCache(opts: MemoryResponseCacheOptions): ResponseCacheStore & { size(): number; bytes(): number } {
  if (!(opts.maxEntries >= 1) || !(opts.maxBytes >= 1)) throw new Error('memoryResponseCache: maxEntries and maxBytes must be at least 1');
  const lru = new LRUCache<string, string>({
    max: opts.maxEntries,
    maxSize: opts.maxBytes,
    sizeCalculation: (value, key) => Math.max(1, utf8Length(value) + key.length),
    // Read the clock on every check (no 1 ms cached "now"): TTLs follow an injected clock exactly.
    ttlResolution: 0,
    ...(opts.clock ? { perf: { now: () => opts.clock!.now() } } : {}),
  });
  return {
    async get(key) {
      return lru.get(key);
    },
    async put(key, value, ttlMs) {
      // An entry larger than the whole cache is not kept (lru-cache refuses it rather than evicting everything).
      lru.set(key, value, { ttl: Math.max(1, ttlMs) });
    },
    size: () => lru.size,
    bytes: () => lru.calculatedSize,
  };
}
