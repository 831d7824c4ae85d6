/**
 * `session-affinity-scorer`: keep a client session (its `x-session-id` header, else the body's
 * `user`) on the replica that served it last: that replica scores 1, the others 0, unless it is
 * loaded beyond the bounded-load limit. A bounded, expiring map per model remembers the sessions.
 */
import { z } from 'zod';
import { affinityMap, withinBoundedLoad } from '../affinity.ts';
import type { RouteRequest, Scorer } from '../types.ts';

export const SessionAffinityParams = z
  .object({
    /** Sessions remembered (all models together); the least recently served go first. */
    maxEntries: z.number().int().positive().default(50_000),
    /** A session not served for this long is forgotten. */
    ttlMs: z.number().positive().default(1_800_000),
    /** Bounded load: no bonus above ceil((1 + loadFactor) × the candidates' mean load). */
    loadFactor: z.number().nonnegative().default(0.25),
    /** Bounded load: a replica running less than this share of its `max_running` keeps its bonus whatever the mean. */
    freeShare: z.number().min(0).max(1).default(1),
  })
  .strict();
export type SessionAffinityParams = z.input<typeof SessionAffinityParams>;

/** Create the scorer; `now` ages the remembered sessions. */
export function sessionAffinityScorer(params: SessionAffinityParams, now: () => number): Scorer {
  const p = SessionAffinityParams.parse(params);
  const served = affinityMap({ maxEntries: p.maxEntries, ttlMs: p.ttlMs, now });
  const key = (req: RouteRequest) => (req.session === undefined ? undefined : `${req.model}\u0000${req.session}`);
  return {
    type: 'session-affinity-scorer',
    score(req, cs) {
      const k = key(req);
      const id = k === undefined ? undefined : served.get(k);
      if (id === undefined) return cs.map(() => 0);
      const eligible = withinBoundedLoad(cs, p.loadFactor, p.freeShare);
      return cs.map((c) => (c.id === id && eligible.has(c.id) ? 1 : 0));
    },
    observe(req, replicaId) {
      const k = key(req);
      if (k !== undefined) served.set(k, replicaId);
    },
  };
}
