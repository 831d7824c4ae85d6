/**
 * `queue-scorer`: prefer replicas with less work, as their last heartbeat reported it. The work is
 * waiting + running measured in batches (max_running), and the score 1 / (1 + batches): an idle
 * replica scores 1, a full batch 0.5, a full batch plus a queue as long again 0.33. It never
 * reaches 0, so deep queues still rank against each other.
 */
import type { Candidate, Scorer } from '../types.ts';

/** The score of one candidate. */
export function queueScore(c: Candidate): number {
  return 1 / (1 + (c.waiting + c.running) / Math.max(1, c.maxRunning));
}

/** Create the scorer. */
export function queueScorer(): Scorer {
  return { type: 'queue-scorer', score: (_req, cs) => cs.map(queueScore) };
}
