/**
 * The scheduler: filters in order (stopping as soon as one empties the set; a filter that judges
 * the request itself, like the prompt size, then refuses it), then the picker's ordering. Scorers
 * (queue depth, KV usage, prefix and session affinity) slot in between in a later step; the shape
 * is already the endpoint-picker one.
 */
import type { PoolEntry } from '../ports.ts';
import { inRotation } from './ready-filter/ready-filter.ts';
import { buildPlugins, DEFAULT_PROFILE } from './registry.ts';
import type { Candidate, Filter, Picker, RouteRequest } from './types.ts';

export interface Scheduler {
  /**
   * Candidates for `req`, best first; empty when nothing can serve it now. Throws the filter's
   * refusal (an ApiError) when a filter that refuses requests left none.
   */
  rank(req: RouteRequest, candidates: Candidate[]): Candidate[];
  /** Whether a pool entry is in rotation at `now`: the ready-filter rule with this profile's TTL. */
  inRotation(entry: PoolEntry, now: number): boolean;
}

export interface SchedulerOptions {
  /** A profile (see registry.ts); default: model-filter, ready-filter, circuit-filter, prompt-size-filter, least-load-picker. */
  profile?: unknown;
  /** Tie-break randomness in [0,1) (default Math.random); injectable for deterministic tests. */
  random?: () => number;
}

/** Build a scheduler; an invalid profile throws at construction. */
export function createScheduler(opts: SchedulerOptions = {}): Scheduler {
  const { filters, picker, rotationTtlMs } = buildPlugins(opts.profile ?? DEFAULT_PROFILE);
  const random = opts.random ?? Math.random;
  return {
    rank: (req, cs) => rank(filters, picker, random, req, cs),
    inRotation: (e, now) => inRotation({ state: e.heartbeat.state, ageMs: heartbeatAge(e, now), drained: e.drainedAt !== null }, rotationTtlMs),
  };
}

function rank(filters: Filter[], picker: Picker, random: () => number, req: RouteRequest, cs: Candidate[]): Candidate[] {
  let set = cs;
  for (const f of filters) {
    const before = set;
    set = f.filter(req, before);
    if (set.length === 0) {
      if (f.refusal) throw f.refusal(req, before);
      return [];
    }
  }
  return picker.order(req, set, random);
}

/** Pool entries as candidates at `now`, with this edge's in-flight counts and circuit waits. */
export function toCandidates(entries: PoolEntry[], now: number, inflight: (id: string) => number, circuitWaitMs?: (id: string) => number): Candidate[] {
  return entries.map(({ heartbeat: hb, lastSeen, drainedAt }) => ({
    id: hb.replica_id,
    url: hb.url,
    model: hb.model,
    revision: hb.revision,
    state: hb.state,
    waiting: hb.waiting,
    running: hb.running,
    maxRunning: hb.max_running,
    kvUsage: hb.kv_usage,
    inflight: inflight(hb.replica_id),
    ageMs: heartbeatAge({ lastSeen }, now),
    ...(hb.max_prompt_bytes ? { maxPromptBytes: hb.max_prompt_bytes } : {}),
    ...(circuitWaitMs ? { circuitWaitMs: circuitWaitMs(hb.replica_id) } : {}),
    ...(drainedAt !== null ? { drained: true } : {}),
  }));
}

/** Edge-clock ms since the entry's last heartbeat (0 if the clock stepped back). */
function heartbeatAge(e: Pick<PoolEntry, 'lastSeen'>, now: number): number {
  return Math.max(0, now - e.lastSeen);
}
