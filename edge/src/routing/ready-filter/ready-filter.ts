/**
 * `ready-filter`: keep replicas that are in rotation: state `ready` (not starting, not
 * draining), not drained by an operator, and heard from within the heartbeat TTL (DESIGN §4: out of rotation 3 s after the
 * last heartbeat).
 */
import { HEARTBEAT_TTL_MS } from '#shared/protocol.ts';
import type { Candidate, Filter } from '../types.ts';

export interface ReadyFilterOptions {
  /** Heartbeat TTL in ms (default protocol.ts HEARTBEAT_TTL_MS = 3000). */
  ttlMs?: number;
}

/** What the rotation rule looks at: a Candidate has it, a pool entry gives it (scheduler.ts). */
export type RotationView = Pick<Candidate, 'state' | 'ageMs' | 'drained'>;

/**
 * The one rule for "this replica is in rotation": ready, not drained by an operator, and its
 * last heartbeat at most `ttlMs` old. Routing, `/v1/models`, `/healthz` and `/admin/pool` all ask it (through the scheduler, with
 * the profile's TTL), so they cannot disagree about a replica.
 */
export function inRotation(r: RotationView, ttlMs: number): boolean {
  return r.state === 'ready' && r.drained !== true && r.ageMs <= ttlMs;
}

/** The TTL an options object asks for; validates it. */
export function readyFilterTtl(opts: ReadyFilterOptions = {}): number {
  const ttlMs = opts.ttlMs ?? HEARTBEAT_TTL_MS;
  if (!(ttlMs > 0)) throw new Error('ready-filter: ttlMs must be positive');
  return ttlMs;
}

/** Create the filter; validates options. */
export function readyFilter(opts: ReadyFilterOptions = {}): Filter {
  const ttlMs = readyFilterTtl(opts);
  return {
    type: 'ready-filter',
    filter: (_req, cs) => cs.filter((c) => inRotation(c, ttlMs)),
  };
}
