/**
 * `round-robin-picker`: hand requests to the replicas in turn, ignoring load and affinity — the
 * baseline the routing benchmark compares the default profile with. Replicas are taken in id
 * order, so the turn survives a pool whose heartbeats arrive in any order; the rest follow in
 * that cyclic order, so failover walks on to the next replica in turn.
 */
import type { Picker } from '../types.ts';

/** Create the picker (its turn counter lives in the instance: one per scheduler). */
export function roundRobinPicker(): Picker {
  let turn = 0;
  return {
    type: 'round-robin-picker',
    order(_req, cs) {
      if (cs.length === 0) return [];
      const sorted = [...cs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const start = turn % sorted.length;
      turn = (turn + 1) % Number.MAX_SAFE_INTEGER;
      return [...sorted.slice(start), ...sorted.slice(0, start)];
    },
  };
}
