/**
 * Prefix cache index for the native engine: which full KV blocks of earlier sequences can be
 * reused by a new one. A block of `blockTokens` positions is identified by a hash chain,
 * hash(block i) = H(hash(block i−1), token ids of block i), so a block's identity covers the whole
 * prefix before it (the K/V of a position depend on every token up to it). Lookups walk the chain
 * from the first block and stop at the first miss.
 *
 * Entries are shared read-only between sequences with reference counts. A sequence holds a
 * contiguous chain from block 0, so a referenced entry's ancestors are referenced too; entries
 * nobody references sit in an LRU and are the only ones eviction may drop. Evicting an entry also
 * drops its cached descendants (they would be unreachable). Released chains enter the LRU tail
 * first, so the end of a conversation goes before its shared beginning.
 *
 * The index only holds opaque block handles (H): memory itself belongs to the caches, and the
 * scheduler does the budget arithmetic. Pure code: no runtime imports.
 */

/** One cached full block. Opaque outside this file except for `handle`. */
export interface PrefixEntry<H> {
  readonly handle: H;
  readonly hash: number;
  /** Sequences currently using it. */
  readonly refs: number;
}

interface Entry<H> extends PrefixEntry<H> {
  refs: number;
  readonly parent: Entry<H> | undefined;
  readonly ids: Int32Array;
  readonly children: Set<Entry<H>>;
}

/** Seed of the chain (the "parent hash" of block 0). */
const ROOT = 0x2545f491;

/**
 * H(parent, ids[from … from+n)) as a non-negative safe integer (two 32-bit lanes, 53 bits kept).
 * Collisions cannot corrupt output: a lookup also compares the parent entry and the ids.
 */
export function blockHash(parent: number, ids: ArrayLike<number>, from: number, n: number): number {
  let a = (parent ^ 0x9e3779b9) | 0;
  let b = (Math.floor(parent / 0x1_0000_0000) ^ 0x85ebca6b ^ n) | 0;
  for (let i = from; i < from + n; i++) {
    const x = ids[i]! | 0;
    a = Math.imul(a ^ x, 0x01000193);
    a ^= a >>> 15;
    b = Math.imul(b + x, 0xcc9e2d51);
    b = Math.imul((b << 15) | (b >>> 17), 0x1b873593);
  }
  a = fmix(a);
  b = fmix(b ^ a);
  return (a >>> 0) * 0x20_0000 + (b >>> 11);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The index. One per scheduler (per model): blocks of different models never mix. */
export class PrefixCache<H> {
  readonly blockTokens: number;
  readonly #byHash = new Map<number, Entry<H>>();
  // Unreferenced entries, oldest first (a Set keeps insertion order; re-adding moves to the end).
  readonly #lru = new Set<Entry<H>>();

  constructor(blockTokens: number) {
    if (!Number.isInteger(blockTokens) || blockTokens < 1) throw new RangeError(`blockTokens must be a positive integer, got ${blockTokens}`);
    this.blockTokens = blockTokens;
  }

  /** Blocks held (referenced or not): what the cache costs against the KV budget. */
  get size(): number {
    return this.#byHash.size;
  }

  /** Blocks nobody references: what eviction can give back. */
  get evictable(): number {
    return this.#lru.size;
  }

  /** Hashes of the first `maxBlocks` full blocks of `ids` (compute once per request, reuse per lookup). */
  chainHashes(ids: ArrayLike<number>, maxBlocks: number): number[] {
    const B = this.blockTokens;
    const n = Math.min(maxBlocks, Math.floor(ids.length / B));
    const out: number[] = [];
    let h = ROOT;
    for (let i = 0; i < n; i++) out.push((h = blockHash(h, ids, i * B, B)));
    return out;
  }

  /** The longest cached chain that prefixes `ids` (hashes from chainHashes). No side effects. */
  match(ids: ArrayLike<number>, hashes: readonly number[]): PrefixEntry<H>[] {
    const out: Entry<H>[] = [];
    let parent: Entry<H> | undefined;
    for (let i = 0; i < hashes.length; i++) {
      const e = this.#byHash.get(hashes[i]!);
      if (!e || e.parent !== parent || !sameIds(e.ids, ids, i * this.blockTokens)) break;
      out.push(e);
      parent = e;
    }
    return out;
  }

  /** Take a reference on each entry (a sequence starts using them). */
  acquire(entries: readonly PrefixEntry<H>[]): void {
    for (const pe of entries) {
      const e = pe as Entry<H>;
      if (e.refs++ === 0) this.#lru.delete(e);
    }
  }

  /** Drop one reference on each entry of a chain; unreferenced ones become evictable, tail first. */
  release(chain: readonly PrefixEntry<H>[]): void {
    for (let i = chain.length - 1; i >= 0; i--) {
      const e = chain[i] as Entry<H>;
      if (e.refs <= 0) throw new Error('prefix cache: released an entry nobody holds');
      // An entry evicted meanwhile cannot be held, so every held entry is still indexed.
      if (--e.refs === 0) this.#lru.add(e);
    }
  }

  /**
   * Register block ids[from … from+blockTokens) after `parent` (which the caller holds; undefined
   * for block 0). If an equal block is already cached, that entry is returned (`created` false);
   * otherwise `makeHandle()` supplies the block and a new entry is created. Either way the caller
   * now holds a reference on the returned entry. Returns undefined on a hash collision with a
   * different block (the caller stops extending its chain).
   */
  insert(
    parent: PrefixEntry<H> | undefined,
    ids: ArrayLike<number>,
    from: number,
    makeHandle: () => H,
  ): { entry: PrefixEntry<H>; created: boolean } | undefined {
    const p = parent as Entry<H> | undefined;
    if (p && p.refs <= 0) throw new Error('prefix cache: parent block is not held');
    const B = this.blockTokens;
    const hash = blockHash(p?.hash ?? ROOT, ids, from, B);
    const existing = this.#byHash.get(hash);
    if (existing) {
      if (existing.parent !== p || !sameIds(existing.ids, ids, from)) return undefined;
      this.acquire([existing]);
      return { entry: existing, created: false };
    }
    const entry: Entry<H> = {
      handle: makeHandle(),
      hash,
      refs: 1,
      parent: p,
      ids: Int32Array.from({ length: B }, (_, i) => ids[from + i]!),
      children: new Set(),
    };
    this.#byHash.set(hash, entry);
    p?.children.add(entry);
    return { entry, created: true };
  }

  /** Evict unreferenced blocks, least recently used first, until `n` are freed (or none are left). Returns the count freed. */
  evict(n: number): number {
    let freed = 0;
    while (freed < n) {
      const oldest = this.#lru.values().next();
      if (oldest.done) break;
      freed += this.#drop(oldest.value);
    }
    return freed;
  }

  /** Drop every unreferenced block. */
  clear(): number {
    return this.evict(Infinity);
  }

  #drop(e: Entry<H>): number {
    if (e.refs > 0) throw new Error('prefix cache: evicting a block in use');
    let n = 1;
    for (const c of e.children) n += this.#drop(c);
    this.#lru.delete(e);
    this.#byHash.delete(e.hash);
    e.parent?.children.delete(e);
    return n;
  }
}

function sameIds(cached: Int32Array, ids: ArrayLike<number>, from: number): boolean {
  if (from + cached.length > ids.length) return false;
  for (let i = 0; i < cached.length; i++) if (cached[i] !== ids[from + i]) return false;
  return true;
}
