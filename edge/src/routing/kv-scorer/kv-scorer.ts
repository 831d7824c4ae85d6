/**
 * `kv-scorer`: prefer replicas with free KV cache, as their last heartbeat reported it
 * (kv_usage in [0,1]): score = 1 − kv_usage. A replica whose cache is full has to preempt or
 * queue, whatever its batch looks like.
 */
import type { Candidate, Scorer } from '../types.ts';

/** The score of one candidate (a usage outside [0,1] is clamped). */
export function kvScore(c: Candidate): number {
  return 1 - Math.min(1, Math.max(0, c.kvUsage));
}

/** Create the scorer. */
export function kvScorer(): Scorer {
  return { type: 'kv-scorer', score: (_req, cs) => cs.map(kvScore) };
}
