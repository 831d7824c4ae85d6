/**
 * `prefix-affinity-scorer`: send a prompt to a replica that recently served its longest leading
 * part, where that replica's prefix cache most likely still holds it (a conversation's next turn
 * repeats the system prompt and the history). The prompt is cut into byte blocks with chained
 * hashes (block-hashes.ts); a bounded, expiring map remembers per model which replicas served
 * each block prefix, most recent first. A candidate scores the fraction of the prompt's blocks in
 * the longest prefix it served, unless it is loaded beyond the bounded-load limit, so a hot
 * prefix spills over instead of melting one replica. Remembering every recent holder, not only
 * the last, matters for hot prefixes: a system prompt every replica holds gives none of them an
 * edge, and load decides, while a conversation's history, held by one, keeps it there.
 */
import { z } from 'zod';
import { affinityMap, withinBoundedLoad } from '../affinity.ts';
import type { RouteRequest, Scorer } from '../types.ts';
import { blockHashes } from './block-hashes.ts';

export const PrefixAffinityParams = z
  .object({
    /** Bytes per block. */
    blockBytes: z.number().int().min(16).max(65_536).default(256),
    /** Blocks read from the start of the prompt; the rest is ignored. */
    maxBlocks: z.number().int().min(1).max(4096).default(128),
    /** Block prefixes remembered (all models together); the least recently served go first. */
    maxEntries: z.number().int().positive().default(50_000),
    /** A block prefix not served for this long is forgotten. */
    ttlMs: z.number().positive().default(600_000),
    /** Bounded load: no bonus above ceil((1 + loadFactor) × the candidates' mean load). */
    loadFactor: z.number().nonnegative().default(0.25),
    /** Bounded load: a replica running less than this share of its `max_running` keeps its bonus whatever the mean. */
    freeShare: z.number().min(0).max(1).default(1),
    /** Replicas remembered per block prefix, most recent first. */
    maxHolders: z.number().int().min(1).max(64).default(16),
  })
  .strict();
export type PrefixAffinityParams = z.input<typeof PrefixAffinityParams>;

/** Create the scorer; `now` ages the remembered prefixes. */
export function prefixAffinityScorer(params: PrefixAffinityParams, now: () => number): Scorer {
  const p = PrefixAffinityParams.parse(params);
  const served = affinityMap<readonly string[]>({ maxEntries: p.maxEntries, ttlMs: p.ttlMs, now });
  // The proxy observes the very request object it ranked: its keys are hashed once, not twice.
  const hashed = new WeakMap<RouteRequest, string[]>();
  const keys = (req: RouteRequest): string[] => {
    let ks = hashed.get(req);
    if (!ks) {
      ks = req.prompt ? blockHashes(req.prompt, p.blockBytes, p.maxBlocks).map((h) => `${req.model}\u0000${h}`) : [];
      hashed.set(req, ks);
    }
    return ks;
  };
  return {
    type: 'prefix-affinity-scorer',
    score(req, cs) {
      const ks = keys(req);
      if (ks.length === 0) return cs.map(() => 0);
      // Blocks each replica served, longest prefix: hash i held means blocks 0..i held. From the
      // longest down, so a replica's first hit is its longest.
      const matched = new Map<string, number>();
      for (let i = ks.length - 1; i >= 0; i--) {
        for (const id of served.get(ks[i]!) ?? []) if (!matched.has(id)) matched.set(id, i + 1);
      }
      if (matched.size === 0) return cs.map(() => 0);
      const eligible = withinBoundedLoad(cs, p.loadFactor, p.freeShare);
      return cs.map((c) => (eligible.has(c.id) ? (matched.get(c.id) ?? 0) / ks.length : 0));
    },
    observe(req, replicaId) {
      // Shortest prefix last: it is the most shared, so the LRU order keeps it longest.
      const ks = keys(req);
      for (let i = ks.length - 1; i >= 0; i--) {
        const holders = served.get(ks[i]!) ?? [];
        // A conversation's next turn usually lands where its blocks already head the list: refresh, no copy.
        served.set(ks[i]!, holders[0] === replicaId ? holders : [replicaId, ...holders.filter((h) => h !== replicaId)].slice(0, p.maxHolders));
      }
    },
  };
}
