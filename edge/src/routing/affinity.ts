/**
 * What the affinity scorers share: a bounded, expiring memory of which replica last served a key
 * (a prompt block-prefix hash, a session), and the bounded-load rule that keeps one hot key from
 * piling every request onto one replica (consistent hashing with bounded loads, Mirrokni et al.).
 */
import { occupancy } from './occupancy.ts';
import type { Candidate } from './types.ts';

export interface AffinityMap<V = string> {
  /** What was last remembered for `key` (the replica that served it), unless it expired. */
  get(key: string): V | undefined;
  /** Remember `value` for `key` now (refreshing its age and its place in the LRU order). */
  set(key: string, value: V): void;
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
export function affinityMap<V = string>({ maxEntries, ttlMs, now }: AffinityMapOptions): AffinityMap<V> {
  const entries = new Map<string, { value: V; at: number }>();
  return {
    get(key) {
      const e = entries.get(key);
      if (!e) return undefined;
      if (now() - e.at > ttlMs) {
        entries.delete(key);
        return undefined;
      }
      return e.value;
    },
    set(key, value) {
      entries.delete(key);
      entries.set(key, { value, at: now() });
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
 * The candidates that may still take a request on affinity: those whose load is at most
 * ceil((1 + c) × the mean load of the candidates), and those running less than `freeShare` of
 * their `maxRunning` with nothing queued, whatever the mean. The ceiling lets a replica one request ahead keep its
 * affinity when the pool is nearly idle. The free share matters when few requests are in flight:
 * there the mean is near 0, and a replica holding two conversations would hand the second to a
 * replica without its history, whose prefill of the whole history then costs far more than
 * sharing a batch that still has free slots.
 */
export function withinBoundedLoad(candidates: readonly Candidate[], c: number, freeShare = 0): Set<string> {
  if (candidates.length === 0) return new Set();
  const loads = candidates.map(occupancy);
  const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
  const limit = Math.ceil((1 + c) * mean);
  // Free slots: nothing queued there, and fewer requests than the share of max_running.
  const free = (x: Candidate, load: number) => x.waiting === 0 && load < freeShare * x.maxRunning;
  return new Set(candidates.filter((x, i) => loads[i]! <= limit || free(x, loads[i]!)).map((x) => x.id));
}
