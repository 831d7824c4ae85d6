/**
 * `queue-scorer`: prefer replicas with less work: their occupancy (occupancy.ts: the last
 * heartbeat's waiting + running, or this edge's in-flight count when that is larger, as it is
 * during a burst the heartbeat has not seen) measured in batches (max_running), and the score
 * 1 / (1 + batches): an idle
 * replica scores 1, a full batch 0.5, a full batch plus a queue as long again 0.33. It never
 * reaches 0, so deep queues still rank against each other.
 */
import { occupancy } from '../occupancy.ts';
import type { Candidate, Scorer } from '../types.ts';

/** The score of one candidate. */
export function queueScore(c: Candidate): number {
  return 1 / (1 + occupancy(c) / Math.max(1, c.maxRunning));
}

/** Create the scorer. */
export function queueScorer(): Scorer {
  return { type: 'queue-scorer', score: (_req, cs) => cs.map(queueScore) };
}
