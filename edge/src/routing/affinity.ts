/**
 * What the affinity scorers share: a bounded, expiring memory of which replica last served a key
 * (a prompt block-prefix hash, a session), and the bounded-load rule that keeps one hot key from
 * piling every request onto one replica (consistent hashing with bounded loads, Mirrokni et al.).
 */
import type { Candidate } from './types.ts';

export interface AffinityMap {
  /** The replica that last served `key`, unless it expired. */
  get(key: string): string | undefined;
  /** Remember that `replicaId` served `key` now (refreshing its age and its place in the LRU order). */
  set(key: string, replicaId: string): void;
  readonly size: number;
}

export interface AffinityMapOptions {
  /** At most this many keys; the least recently set goes first. */
  maxEntries: number;
  /** A key not set for this long is forgotten. */
  ttlMs: number;
  now: () => number;
}

/** A Map kept in set order (delete + set moves a key to the end), so the first key is the LRU one. */
export function affinityMap({ maxEntries, ttlMs, now }: AffinityMapOptions): AffinityMap {
  const entries = new Map<string, { replicaId: string; at: number }>();
  return {
    get(key) {
      const e = entries.get(key);
      if (!e) return undefined;
      if (now() - e.at > ttlMs) {
        entries.delete(key);
        return undefined;
      }
      return e.replicaId;
    },
    set(key, replicaId) {
      entries.delete(key);
      entries.set(key, { replicaId, at: now() });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value as string;
        entries.delete(oldest);
      }
    },
    get size() {
      return entries.size;
    },
  };
}

/**
 * A replica's load for the bounded-load rule: its queue and batch from the last heartbeat plus
 * this edge's in-flight requests to it (fresher than the heartbeat; once the heartbeat catches up
 * they count twice, which errs towards spilling over).
 */
export function affinityLoad(c: Candidate): number {
  return c.waiting + c.running + c.inflight;
}

/**
 * The candidates that may still take a request on affinity: those whose load is at most
 * ceil((1 + c) × the mean load of the candidates). The ceiling lets a replica one request ahead
 * keep its affinity when the pool is nearly idle.
 */
export function withinBoundedLoad(candidates: readonly Candidate[], c: number): Set<string> {
  if (candidates.length === 0) return new Set();
  const loads = candidates.map(affinityLoad);
  const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
  const limit = Math.ceil((1 + c) * mean);
  return new Set(candidates.filter((_, i) => loads[i]! <= limit).map((x) => x.id));
}
