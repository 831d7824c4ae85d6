/**
 * The KV budget of the native engine, counted in blocks, with the prefix cache inside it.
 *
 * Every block is either private to a running sequence (reserved at admission for its whole
 * prompt + completion, so a running sequence never needs more and is never preempted) or held by
 * the prefix cache (shared read-only, reference-counted). The invariant is
 *   private blocks + cached blocks ≤ budget,
 * and admission keeps it: a request that does not fit first evicts unreferenced cached blocks
 * (LRU), and only if that is not enough does it wait. A full block a sequence has written moves
 * from its private share into the cache (the total stays the same), so later requests with the
 * same prefix — the next turn of a chat, a shared system prompt — adopt it instead of recomputing.
 * The last prompt token is always recomputed: its logits are what the sequence samples from.
 */
import { PrefixCache, type PrefixEntry } from './prefix-cache.ts';

export interface KvPoolOptions {
  /** Blocks the budget holds. */
  budgetBlocks: number;
  /** Positions per block (the model's KV block size). */
  blockTokens: number;
  /** Reuse cached prefix blocks (default true). */
  prefixCache: boolean;
}

/** What one admitted sequence holds. Owned by the pool; read by the scheduler. */
export interface KvLease<H> {
  /** Cached blocks this sequence holds, from block 0 on (adopted, then registered). */
  readonly chain: PrefixEntry<H>[];
  /** Blocks reserved for this sequence alone. */
  privateBlocks: number;
  /** Prompt tokens served from the cache at admission (a multiple of blockTokens). */
  readonly cachedTokens: number;
  /** False once the chain cannot grow (cache off, or a hash collision). */
  open: boolean;
}

/** Per request, memoised across admission attempts: the prompt's block hashes. */
export interface LeaseProbe {
  readonly promptIds: readonly number[];
  readonly reserveTokens: number;
  hashes?: number[];
}

export interface KvPoolStats {
  /** Private + referenced cached blocks: what running sequences use. */
  usedBlocks: number;
  /** Blocks the prefix cache holds (referenced or not). */
  cachedBlocks: number;
  /** Prompt tokens looked up in the prefix cache at admission. */
  queryTokens: number;
  /** Of those, tokens served from it. */
  hitTokens: number;
}

/** Blocks of the KV budget; one per scheduler. */
export class KvBlockPool<H> {
  readonly budgetBlocks: number;
  readonly blockTokens: number;
  #prefix: PrefixCache<H> | undefined;
  #private = 0;
  #queries = 0;
  #hits = 0;

  /** Throws RangeError on a budget below one block or a bad block size. */
  constructor(opts: KvPoolOptions) {
    if (!Number.isInteger(opts.blockTokens) || opts.blockTokens < 1) throw new RangeError(`KV block size must be a positive integer, got ${opts.blockTokens}`);
    if (!Number.isInteger(opts.budgetBlocks) || opts.budgetBlocks < 1)
      throw new RangeError(`The KV budget must hold at least one block of ${opts.blockTokens} tokens`);
    this.budgetBlocks = opts.budgetBlocks;
    this.blockTokens = opts.blockTokens;
    this.#prefix = opts.prefixCache ? new PrefixCache<H>(opts.blockTokens) : undefined;
  }

  /** Blocks a sequence of `tokens` positions occupies. */
  blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.blockTokens);
  }

  /**
   * Admit a sequence if its blocks fit, evicting unreferenced cached blocks when that makes it
   * fit; undefined (and nothing changed) when it does not fit even then.
   */
  tryLease(probe: LeaseProbe): KvLease<H> | undefined {
    const total = this.blocksFor(probe.reserveTokens);
    const prefix = this.#prefix;
    let hits: PrefixEntry<H>[] = [];
    if (prefix) {
      probe.hashes ??= prefix.chainHashes(probe.promptIds, Math.floor((probe.promptIds.length - 1) / this.blockTokens));
      hits = prefix.match(probe.promptIds, probe.hashes);
    }
    const need = total - hits.length;
    const free = this.budgetBlocks - this.#private - (prefix?.size ?? 0);
    if (need > free) {
      // Hits that nobody holds are in the LRU but about to be held: they cannot pay for this.
      const reclaimable = (prefix?.evictable ?? 0) - hits.filter((h) => h.refs === 0).length;
      if (need > free + reclaimable) return undefined;
    }
    if (prefix) {
      // Acquire before evicting: eviction only takes unreferenced blocks and their descendants,
      // and an ancestor of a held block is held, so the hits are safe.
      prefix.acquire(hits);
      if (need > free) prefix.evict(need - free);
      this.#queries += probe.promptIds.length;
      this.#hits += hits.length * this.blockTokens;
    }
    this.#private += need;
    return { chain: hits, privateBlocks: need, cachedTokens: hits.length * this.blockTokens, open: prefix !== undefined };
  }

  /**
   * After a step: offer the sequence's newly filled blocks to the cache. `tokens` holds at least
   * the first `length` token ids the cache has processed; `share(i)` hands out block i.
   */
  extend(lease: KvLease<H>, tokens: ArrayLike<number>, length: number, share: (index: number) => H): void {
    const prefix = this.#prefix;
    const B = this.blockTokens;
    while (prefix && lease.open && (lease.chain.length + 1) * B <= length) {
      const i = lease.chain.length;
      const r = prefix.insert(lease.chain[i - 1], tokens, i * B, () => share(i));
      if (!r) {
        lease.open = false;
        break;
      }
      lease.chain.push(r.entry);
      // A block another sequence already cached stays private here (its twin is what is shared).
      if (r.created) {
        lease.privateBlocks--;
        this.#private--;
      }
    }
  }

  /** The sequence is gone: its private blocks return to the budget, its cached ones become evictable. */
  free(lease: KvLease<H>): void {
    this.#prefix?.release(lease.chain);
    lease.chain.length = 0;
    this.#private -= lease.privateBlocks;
    lease.privateBlocks = 0;
    lease.open = false;
  }

  /**
   * Forget every lease and cached block at once (the engine restarts after an internal fault and
   * drops every cache); the lookup counters go on, as counters do.
   */
  reset(): void {
    if (this.#prefix) this.#prefix = new PrefixCache<H>(this.blockTokens);
    this.#private = 0;
  }

  /** Drop every cached block nobody uses. */
  clearCache(): number {
    return this.#prefix?.clear() ?? 0;
  }

  stats(): KvPoolStats {
    const cached = this.#prefix?.size ?? 0;
    return {
      usedBlocks: this.#private + cached - (this.#prefix?.evictable ?? 0),
      cachedBlocks: cached,
      queryTokens: this.#queries,
      hitTokens: this.#hits,
    };
  }
}
