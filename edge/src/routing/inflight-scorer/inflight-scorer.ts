/**
 * `inflight-scorer`: prefer replicas this edge has fewer requests in flight to, measured in
 * batches (max_running): score = 1 / (1 + inflight / max_running). Heartbeats are up to a second
 * old; this count is not, so a burst spreads instead of landing on the replica that looked idle
 * at its last beat.
 */
import type { Candidate, Scorer } from '../types.ts';

/** The score of one candidate. */
export function inflightScore(c: Candidate): number {
  return 1 / (1 + c.inflight / Math.max(1, c.maxRunning));
}

/** Create the scorer. */
export function inflightScorer(): Scorer {
  return { type: 'inflight-scorer', score: (_req, cs) => cs.map(inflightScore) };
}
