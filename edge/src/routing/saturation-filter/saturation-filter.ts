/**
 * `saturation-filter`: skip replicas that have no room: every running slot and every queue place
 * taken, so the replica would answer 503 busy anyway. Sending there costs a round trip and a
 * failover attempt from the retry budget; the heartbeat (up to a second old) and this edge's own
 * in-flight count (which sees a burst the heartbeat has not) say so in advance. The occupancy is
 * the larger of the two, because the in-flight requests are also in the heartbeat's counts once
 * it catches up. A replica that does not report its queue size (an older origin) is never judged
 * saturated. When every replica is, the request gets 503 with a retry-after of one heartbeat.
 */
import { ApiError } from '#shared/errors.ts';
import type { Candidate, Filter } from '../types.ts';

export interface SaturationParams {
  /** Also count a replica with at least this KV-cache usage (0..1] as saturated; absent: KV is not judged. */
  maxKvUsage?: number;
}

/** Requests the replica holds now, as far as this edge can tell. */
export const occupancy = (c: Candidate): number => Math.max(c.running + c.waiting, c.inflight);

/** Whether the replica has no room for one more request. */
export function saturated(c: Candidate, p: SaturationParams = {}): boolean {
  if (p.maxKvUsage !== undefined && c.kvUsage >= p.maxKvUsage) return true;
  if (c.maxWaiting === undefined) return false;
  return occupancy(c) >= c.maxRunning + c.maxWaiting;
}

/** Create the filter. */
export function saturationFilter(params: SaturationParams = {}): Filter {
  return {
    type: 'saturation-filter',
    filter: (_req, cs) => cs.filter((c) => !saturated(c, params)),
    refusal: (req) => new ApiError('origin_unavailable', `Every replica of \`${req.model}\` is at capacity. Please retry.`, { retryAfter: 1 }),
  };
}
