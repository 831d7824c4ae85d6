/**
 * Coalescing of identical requests (edge/src/cache/README.md): the first request for a key while
 * none is in flight leads; later ones with the same key follow and wait for the leader's result.
 * A leader settles with the finished entry, or with undefined when it failed (error, cut stream,
 * a client gone, an answer too big to keep): followers then go to the origin themselves and never
 * see the leader's error. The map lives in memory: per process on Node, per isolate on Workers.
 */

export type FlightRole<T> = { role: 'leader'; settle(result: T | undefined): void } | { role: 'follower'; result: Promise<T | undefined> };

export interface Flights<T> {
  /** Lead the key's flight (none was in flight) or follow the one in flight. */
  join(key: string): FlightRole<T>;
  /** Keys in flight now. */
  size(): number;
}

/** An empty set of flights. */
export function flights<T>(): Flights<T> {
  const inFlight = new Map<string, Promise<T | undefined>>();
  return {
    join(key) {
      const current = inFlight.get(key);
      if (current) return { role: 'follower', result: current };
      let resolve!: (v: T | undefined) => void;
      const result = new Promise<T | undefined>((r) => {
        resolve = r;
      });
      inFlight.set(key, result);
      let settled = false;
      return {
        role: 'leader',
        settle(value) {
          if (settled) return;
          settled = true;
          // Removed before resolving: a request arriving after the result leads a new flight (and finds the stored entry).
          inFlight.delete(key);
          resolve(value);
        },
      };
    },
    size: () => inFlight.size,
  };
}
