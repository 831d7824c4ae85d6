/**
 * `ready-filter`: keep replicas that are in rotation: state `ready` (not starting, not
 * draining) and heard from within the heartbeat TTL (DESIGN §4: out of rotation 3 s after the
 * last heartbeat).
 */
import { HEARTBEAT_TTL_MS } from '#shared/protocol.ts';
import type { Filter } from '../types.ts';

export interface ReadyFilterOptions {
  /** Heartbeat TTL in ms (default protocol.ts HEARTBEAT_TTL_MS = 3000). */
  ttlMs?: number;
}

/** Create the filter; validates options. */
export function readyFilter(opts: ReadyFilterOptions = {}): Filter {
  const ttlMs = opts.ttlMs ?? HEARTBEAT_TTL_MS;
  if (!(ttlMs > 0)) throw new Error('ready-filter: ttlMs must be positive');
  return {
    type: 'ready-filter',
    filter: (_req, cs) => cs.filter((c) => c.state === 'ready' && c.ageMs <= ttlMs),
  };
}
