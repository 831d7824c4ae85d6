/**
 * `least-load-picker`: order replicas by load, least first, where
 * load = this edge's in-flight requests to the replica + the replica's reported queue (waiting).
 * In-flight is counted here because heartbeats are up to a second old: without it a burst would
 * all land on the replica that looked idle at its last beat. Ties are broken at random so equal
 * replicas share the load.
 */
import type { Candidate, Picker } from '../types.ts';

/** The load the picker minimises. */
export function load(c: Candidate): number {
  return c.inflight + c.waiting;
}

/** Create the picker. */
export function leastLoadPicker(): Picker {
  return {
    type: 'least-load-picker',
    order(_req, cs, _totals, random) {
      // Random keys first, then a stable sort by load: equal loads end up in random order.
      return cs
        .map((c) => ({ c, r: random() }))
        .sort((a, b) => load(a.c) - load(b.c) || a.r - b.r)
        .map((x) => x.c);
    },
  };
}
