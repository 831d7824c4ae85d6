import { describe, expect, it } from 'vitest';
import { manualClock } from './clock.ts';
import { memoryResponseCache } from './response-cache.ts';

describe('memoryResponseCache', () => {
  it('evicts the least recently used past maxEntries', async () => {
    const c = memoryResponseCache({ maxEntries: 2, maxBytes: 1_000_000 });
    await c.put('a', '1', 60_000);
    await c.put('b', '2', 60_000);
    await c.get('a');
    await c.put('c', '3', 60_000);
    expect([await c.get('a'), await c.get('b'), await c.get('c')]).toEqual(['1', undefined, '3']);
  });

  it('holds at most maxBytes (UTF-8 of value and key), and never an entry larger than that', async () => {
    const c = memoryResponseCache({ maxEntries: 100, maxBytes: 100 });
    for (const k of ['k1', 'k2', 'k3']) await c.put(k, 'é'.repeat(20), 60_000); // 42 bytes each
    expect(c.bytes()).toBeLessThanOrEqual(100);
    expect(await c.get('k1')).toBeUndefined();
    expect(await c.get('k3')).toBe('é'.repeat(20));
    await c.put('big', 'x'.repeat(200), 60_000);
    expect(await c.get('big')).toBeUndefined();
  });

  it('forgets an entry after its TTL on the injected clock', async () => {
    const clock = manualClock(1_000_000);
    const c = memoryResponseCache({ maxEntries: 10, maxBytes: 1000, clock });
    await c.put('a', 'v', 5_000);
    clock.advance(4_999);
    expect(await c.get('a')).toBe('v');
    clock.advance(2);
    expect(await c.get('a')).toBeUndefined();
  });

  it('refuses bounds below 1 at construction', () => {
    expect(() => memoryResponseCache({ maxEntries: 0, maxBytes: 10 })).toThrow(/at least 1/);
  });
});
