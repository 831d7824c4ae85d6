import { describe, expect, it } from 'vitest';
import { PrefixLru } from './prefix-lru.ts';

describe('PrefixLru', () => {
  it.each([
    { name: 'empty cache', cached: [], query: [1, 2, 3], hit: 0 },
    { name: 'whole prefix', cached: [[1, 2, 3]], query: [1, 2, 3, 4], hit: 3 },
    { name: 'stops at the first miss', cached: [[1, 2, 3]], query: [1, 9, 3], hit: 1 },
    { name: 'a later block alone is useless', cached: [[1, 2, 3]], query: [9, 2, 3], hit: 0 },
  ])('$name', ({ cached, query, hit }) => {
    const lru = new PrefixLru(100);
    for (const c of cached) lru.insert(c);
    expect(lru.lookup(query, query.length * 16)).toBe(hit);
    expect(lru.queryTokens).toBe(query.length * 16);
    expect(lru.hitTokens).toBe(hit * 16);
  });

  it('caps a lookup at maxBlocks', () => {
    const lru = new PrefixLru(10);
    lru.insert([1, 2, 3]);
    expect(lru.lookup([1, 2, 3], 48, 2)).toBe(2);
  });

  it('stays within capacity and evicts the end of a conversation before its shared beginning', () => {
    const lru = new PrefixLru(4);
    lru.insert([1, 2, 3]); // system prompt 1, then a conversation 2, 3
    lru.insert([1, 4]); // another conversation on the same system prompt
    expect(lru.size).toBe(4);
    lru.insert([1, 5]); // evicts the oldest tail (3), not the shared head
    expect(lru.size).toBe(4);
    expect(lru.lookup([1, 2, 3], 48)).toBe(2);
    expect(lru.lookup([1, 5], 32)).toBe(2);
  });

  it('holds nothing at capacity 0', () => {
    const lru = new PrefixLru(0);
    lru.insert([1, 2]);
    expect(lru.lookup([1, 2], 32)).toBe(0);
  });
});
