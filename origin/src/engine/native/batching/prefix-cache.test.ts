import { describe, expect, it } from 'vitest';
import { blockHash, PrefixCache, type PrefixEntry } from './prefix-cache.ts';

const B = 4;

/** Register every full block of `ids` as a fresh chain (handles name the block), as a sequence would. */
function fill(cache: PrefixCache<string>, ids: number[], tag: string): PrefixEntry<string>[] {
  const chain: PrefixEntry<string>[] = [];
  for (let i = 0; (i + 1) * B <= ids.length; i++) {
    const r = cache.insert(chain[i - 1], ids, i * B, () => `${tag}${i}`);
    if (!r) throw new Error('collision');
    chain.push(r.entry);
  }
  return chain;
}

const seq = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('blockHash', () => {
  it('depends on the parent, every id, their order and the block length', () => {
    const ids = [5, 6, 7, 8];
    const h = blockHash(1, ids, 0, 4);
    expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
    expect(blockHash(1, [5, 6, 7, 8], 0, 4)).toBe(h);
    expect(blockHash(2, ids, 0, 4)).not.toBe(h);
    expect(blockHash(1, [5, 6, 8, 7], 0, 4)).not.toBe(h);
    expect(blockHash(1, [5, 6, 7, 9], 0, 4)).not.toBe(h);
    expect(blockHash(1, [9, 5, 6, 7, 8], 1, 4)).toBe(h);
    expect(blockHash(1, ids, 0, 3)).not.toBe(blockHash(1, ids, 0, 4));
  });

  it('spreads 10k similar blocks without a collision', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(blockHash(0, [i & 7, i >> 3, 0, 1], 0, 4));
    expect(seen.size).toBe(10_000);
  });
});

describe('PrefixCache', () => {
  it('matches the longest cached chain, stopping at the first differing block', () => {
    const c = new PrefixCache<string>(B);
    const a = seq(1, 12);
    const chain = fill(c, a, 'a');
    expect(chain.map((e) => e.handle)).toEqual(['a0', 'a1', 'a2']);
    const probe = [...a.slice(0, 8), 99, ...a.slice(9)]; // differs in block 2
    expect(c.match(probe, c.chainHashes(probe, 10)).map((e) => e.handle)).toEqual(['a0', 'a1']);
    // Block 1 alone is not a hit: its identity includes block 0.
    const shifted = [0, 0, 0, 0, ...a.slice(4, 8)];
    expect(c.match(shifted, c.chainHashes(shifted, 2))).toEqual([]);
    // maxBlocks bounds the lookup; a partial last block never matches.
    expect(c.match(a, c.chainHashes(a, 1))).toHaveLength(1);
    expect(c.chainHashes(a.slice(0, 7), 10)).toHaveLength(1);
  });

  it('returns the existing entry for an equal block and refcounts it', () => {
    const c = new PrefixCache<string>(B);
    const first = fill(c, seq(1, 8), 'a');
    const second = fill(c, seq(1, 8), 'b');
    expect(second).toEqual(first);
    expect(first.map((e) => e.refs)).toEqual([2, 2]);
    expect(c.size).toBe(2);
    c.release(first);
    c.release(second);
    expect(c.evictable).toBe(2);
  });

  it('only unreferenced blocks are evictable; acquiring takes them out of the LRU', () => {
    const c = new PrefixCache<string>(B);
    const chain = fill(c, seq(1, 8), 'a');
    expect(c.evict(5)).toBe(0);
    c.release(chain);
    const again = c.match(seq(1, 8), c.chainHashes(seq(1, 8), 2));
    c.acquire(again);
    expect(c.evictable).toBe(0);
    expect(c.evict(1)).toBe(0);
    c.release(again);
    expect(c.evict(2)).toBe(2);
    expect(c.size).toBe(0);
    expect(() => c.release(again)).toThrow(/nobody holds/);
  });

  it('evicts least recently released first, a chain tail first, descendants with their parent', () => {
    const c = new PrefixCache<string>(B);
    const a = fill(c, seq(1, 12), 'a');
    const b = fill(c, seq(100, 8), 'b');
    c.release(a); // LRU: a2, a1, a0
    c.release(b); // then b1, b0
    expect(c.evict(1)).toBe(1);
    expect(c.match(seq(1, 12), c.chainHashes(seq(1, 12), 3)).map((e) => e.handle)).toEqual(['a0', 'a1']);
    c.acquire(c.match(seq(100, 8), c.chainHashes(seq(100, 8), 2))); // b in use again: not evictable
    expect(c.evict(1)).toBe(1); // a1 (older than a0)
    expect(c.evict(1)).toBe(1); // a0
    expect(c.size).toBe(2);
    const d = new PrefixCache<string>(B);
    const chain = fill(d, seq(1, 12), 'd');
    d.release(chain.slice(0, 1));
    d.release(chain.slice(1)); // LRU: d0 (oldest), d2, d1
    expect(d.evict(1)).toBe(3); // d1 and d2 would be unreachable without d0: they go with it
    expect(d.size).toBe(0);
  });

  it('refuses a parent the caller does not hold', () => {
    const c = new PrefixCache<string>(B);
    const chain = fill(c, seq(1, 4), 'a');
    c.release(chain);
    expect(() => c.insert(chain[0], seq(1, 8), 4, () => 'x')).toThrow(/not held/);
  });
});
