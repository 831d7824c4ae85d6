/**
 * The scheduler's vocabulary (DESIGN §5, shaped like the Gateway API Inference Extension's
 * endpoint picker): a Candidate is one engine replica with its load as the pool last reported
 * it plus this edge's own in-flight count; filters narrow the set, scorers (to come) rate it,
 * and a picker orders it. The order matters: failover walks it before the first byte.
 */
import type { ReplicaState } from '#shared/protocol.ts';

export interface Candidate {
  id: string;
  url: string;
  model: string;
  revision: string;
  state: ReplicaState;
  /** Requests queued at the replica (its last heartbeat). */
  waiting: number;
  /** Requests running at the replica. */
  running: number;
  maxRunning: number;
  kvUsage: number;
  /** Requests this edge has in flight to the replica right now. */
  inflight: number;
  /** Edge-clock ms since the replica's last heartbeat. */
  ageMs: number;
}

/** What the scheduler routes. */
export interface RouteRequest {
  model: string;
}

/** Removes candidates that must not serve the request. */
export interface Filter {
  readonly type: string;
  filter(req: RouteRequest, candidates: Candidate[]): Candidate[];
}

/** Orders the remaining candidates, best first. `random` in [0,1) breaks ties. */
export interface Picker {
  readonly type: string;
  order(req: RouteRequest, candidates: Candidate[], random: () => number): Candidate[];
}
