/**
 * `circuit-filter`: skip replicas whose circuit (this edge's breaker, routing/circuit-breaker.ts)
 * holds requests back: open and cooling down, or half-open with its one probe already out. When
 * that leaves none, the request gets 503 `origin_unavailable` with a retry-after of the soonest
 * circuit to let a request through, instead of being sent to a replica known to be failing.
 */
import { ApiError } from '#shared/errors.ts';
import type { Filter } from '../types.ts';

/** Create the filter. */
export function circuitFilter(): Filter {
  return {
    type: 'circuit-filter',
    filter: (_req, cs) => cs.filter((c) => (c.circuitWaitMs ?? 0) <= 0),
    refusal(req, removed) {
      const soonestMs = Math.min(...removed.map((c) => c.circuitWaitMs ?? 0));
      return new ApiError('origin_unavailable', `Every replica of \`${req.model}\` is failing right now. Please retry.`, {
        retryAfter: Math.max(1, Math.ceil(soonestMs / 1000)),
      });
    },
  };
}
