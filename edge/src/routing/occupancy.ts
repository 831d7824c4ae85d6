/**
 * How many requests a replica holds now, as far as this edge can tell: the larger of its last
 * heartbeat's `running + waiting` and this edge's own in-flight requests to it. The heartbeat is
 * up to a second old, so a burst shows in the in-flight count first; the in-flight count misses
 * other edges' requests, which the heartbeat has. Each undercounts in its own way, so the larger
 * one is the estimate — adding them would count this edge's requests twice once the heartbeat
 * catches up. The one definition the load scorers, the bounded-load rule and the saturation
 * filter share.
 */
import type { Candidate } from './types.ts';

export function occupancy(c: Candidate): number {
  return Math.max(c.running + c.waiting, c.inflight);
}
