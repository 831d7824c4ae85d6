/**
 * The scheduler's vocabulary (DESIGN §5, shaped like the Gateway API Inference Extension's
 * endpoint picker): a Candidate is one engine replica with its load as the pool last reported
 * it plus this edge's own in-flight count; filters narrow the set, weighted scorers rate it,
 * and a picker orders it. The order matters: failover walks it before the first byte.
 */
import type { ApiError } from '#shared/errors.ts';
import type { PromptText } from '#shared/prompt-size.ts';
import type { PromptByteBounds, ReplicaState } from '#shared/protocol.ts';

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
  /** Requests the replica queues beyond `maxRunning` before refusing; absent: not reported. */
  maxWaiting?: number;
  kvUsage: number;
  /** Requests this edge has in flight to the replica right now. */
  inflight: number;
  /** Of those, the ones without a first token yet (queued or in prefill there); absent: unknown. */
  awaitingFirstToken?: number;
  /** Edge-clock ms since the replica's last heartbeat. */
  ageMs: number;
  /** The longest prompt text the replica could fit, by field; absent: no bound known. */
  maxPromptBytes?: PromptByteBounds;
  /** Ms until this edge's circuit breaker lets a request go to the replica; 0 or absent: now. */
  circuitWaitMs?: number;
  /** An operator drained the replica (`/admin/replicas/{id}/drain`): out of rotation whatever its state. */
  drained?: boolean;
}

/** The request header a client names its session with (else the body's `user`), for session affinity. */
export const SESSION_HEADER = 'x-session-id';

/** What the scheduler routes. */
export interface RouteRequest {
  model: string;
  /** The prompt's text; absent for token-id prompts and requests without one. */
  prompt?: PromptText;
  /** The client's session (its `x-session-id` header, else the body's `user`); absent: none. */
  session?: string;
}

/** Removes candidates that must not serve the request. */
export interface Filter {
  readonly type: string;
  filter(req: RouteRequest, candidates: Candidate[]): Candidate[];
  /**
   * The answer when this filter removed every candidate because of the request itself (no replica
   * could ever serve it: a 4xx), or a 503 whose retry-after only this filter knows (circuits
   * cooling down). Without it, an empty set is the caller's 503.
   */
  refusal?(req: RouteRequest, removed: Candidate[]): ApiError;
}

/**
 * Rates the candidates left by the filters: one score in [0,1] per candidate, in their order
 * (higher is better). The scheduler sums them weighted by the profile.
 */
export interface Scorer {
  readonly type: string;
  score(req: RouteRequest, candidates: readonly Candidate[]): number[];
  /** The request was accepted by `replicaId`: scorers that learn from routing (affinity) remember it. */
  observe?(req: RouteRequest, replicaId: string): void;
}

/**
 * Orders the remaining candidates, best first, given their weighted score totals (aligned with
 * `candidates`). `random` in [0,1) breaks ties.
 */
export interface Picker {
  readonly type: string;
  order(req: RouteRequest, candidates: Candidate[], totals: readonly number[], random: () => number): Candidate[];
}
