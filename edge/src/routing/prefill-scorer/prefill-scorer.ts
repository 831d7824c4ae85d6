/**
 * `prefill-scorer`: prefer replicas where fewer of this edge's requests are still waiting for their
 * first token. Those are queued or in prefill there, and a replica computes the prefills it
 * admits in the same steps as its decodes: a new request arriving behind them waits for all of
 * them before its own first token. The occupancy scorers cannot see this: a replica streaming
 * eight long answers is busy but lets a newcomer start at once, one prefilling two long prompts
 * holds few requests but makes it wait. Score: 1 / (1 + awaiting); a candidate with no count
 * (a caller that does not track it) scores 1.
 */
import type { Candidate, Scorer } from '../types.ts';

/** The score of one candidate. */
export function prefillScore(c: Candidate): number {
  return 1 / (1 + (c.awaitingFirstToken ?? 0));
}

/** Create the scorer (no params). */
export function prefillScorer(): Scorer {
  return { type: 'prefill-scorer', score: (_req, cs) => cs.map(prefillScore) };
}
