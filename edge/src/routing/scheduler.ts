/**
 * The scheduler (routing/README.md): filters in order (stopping as soon as one empties the set; a
 * filter that judges the request itself, like the prompt size, then refuses it), then weighted
 * scorers (total = Σ weight × score, each score in [0,1]), then the picker's ordering by total.
 */
import type { PoolEntry } from '../ports.ts';
import { inRotation } from './ready-filter/ready-filter.ts';
import { buildPlugins, DEFAULT_PROFILE, type Plugins } from './registry.ts';
import type { Candidate, RouteRequest } from './types.ts';

export interface Scheduler {
  /**
   * Candidates for `req`, best first; empty when nothing can serve it now. Throws the filter's
   * refusal (an ApiError) when a filter that refuses requests left none.
   */
  rank(req: RouteRequest, candidates: Candidate[]): Candidate[];
  /** `replicaId` accepted `req` (the proxy calls this once per request that got a 2xx): affinity learns. */
  observe(req: RouteRequest, replicaId: string): void;
  /** Whether a pool entry is in rotation at `now`: the ready-filter rule with this profile's TTL. */
  inRotation(entry: PoolEntry, now: number): boolean;
}

export interface SchedulerOptions {
  /** A profile (see registry.ts); default DEFAULT_PROFILE there. */
  profile?: unknown;
  /** Tie-break randomness in [0,1) (default Math.random); injectable for deterministic tests. */
  random?: () => number;
  /** Epoch ms, to age what affinity scorers remember (default Date.now). */
  now?: () => number;
}

/** Build a scheduler; an invalid profile throws at construction. */
export function createScheduler(opts: SchedulerOptions = {}): Scheduler {
  const plugins = buildPlugins(opts.profile ?? DEFAULT_PROFILE, opts.now ?? Date.now);
  const random = opts.random ?? Math.random;
  return {
    rank: (req, cs) => rankWith(plugins, random, req, cs),
    observe(req, replicaId) {
      for (const { scorer } of plugins.scorers) scorer.observe?.(req, replicaId);
    },
    inRotation: (e, now) => inRotation({ state: e.heartbeat.state, ageMs: heartbeatAge(e, now), drained: e.drainedAt !== null }, plugins.rotationTtlMs),
  };
}

/** One ranking with built plugins (exported for tests that bring their own plugins). */
export function rankWith({ filters, scorers, picker }: Plugins, random: () => number, req: RouteRequest, cs: Candidate[]): Candidate[] {
  let set = cs;
  for (const f of filters) {
    const before = set;
    set = f.filter(req, before);
    if (set.length === 0) {
      if (f.refusal) throw f.refusal(req, before);
      return [];
    }
  }
  const totals = set.map(() => 0);
  for (const { scorer, weight } of scorers) {
    if (weight === 0) continue;
    const scores = scorer.score(req, set);
    for (let i = 0; i < set.length; i++) totals[i]! += weight * clampScore(scores[i]);
  }
  return picker.order(req, set, totals, random);
}

/** A scorer's answer held to [0,1]: a missing or NaN score counts as 0, not as a poisoned total. */
function clampScore(s: number | undefined): number {
  return s !== undefined && s > 0 ? Math.min(1, s) : 0;
}

/** Pool entries as candidates at `now`, with this edge's in-flight counts and circuit waits. */
export function toCandidates(
  entries: PoolEntry[],
  now: number,
  inflight: (id: string) => number,
  circuitWaitMs?: (id: string) => number,
  awaitingFirstToken?: (id: string) => number,
): Candidate[] {
  return entries.map(({ heartbeat: hb, lastSeen, drainedAt }) => ({
    id: hb.replica_id,
    url: hb.url,
    model: hb.model,
    revision: hb.revision,
    state: hb.state,
    waiting: hb.waiting,
    running: hb.running,
    maxRunning: hb.max_running,
    ...(hb.max_waiting !== undefined ? { maxWaiting: hb.max_waiting } : {}),
    kvUsage: hb.kv_usage,
    inflight: inflight(hb.replica_id),
    ageMs: heartbeatAge({ lastSeen }, now),
    ...(hb.max_prompt_bytes ? { maxPromptBytes: hb.max_prompt_bytes } : {}),
    ...(circuitWaitMs ? { circuitWaitMs: circuitWaitMs(hb.replica_id) } : {}),
    ...(awaitingFirstToken ? { awaitingFirstToken: awaitingFirstToken(hb.replica_id) } : {}),
    ...(drainedAt !== null ? { drained: true } : {}),
  }));
}

/** Edge-clock ms since the entry's last heartbeat (0 if the clock stepped back). */
function heartbeatAge(e: Pick<PoolEntry, 'lastSeen'>, now: number): number {
  return Math.max(0, now - e.lastSeen);
}
