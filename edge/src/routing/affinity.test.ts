import { describe, expect, it } from 'vitest';
import { affinityMap, withinBoundedLoad } from './affinity.ts';
import { candidate } from './testing/candidate.ts';

const replica = candidate;

describe('affinity map', () => {
  it('forgets a key after its TTL, and a set refreshes it', () => {
    let now = 0;
    const m = affinityMap({ maxEntries: 10, ttlMs: 100, now: () => now });
    m.set('k', 'a');
    now = 100;
    expect(m.get('k')).toBe('a');
    m.set('k', 'b');
    now = 200;
    expect(m.get('k')).toBe('b');
    now = 201;
    expect(m.get('k')).toBeUndefined();
    expect(m.size).toBe(0);
  });

  it('holds at most maxEntries, dropping the least recently set', () => {
    const m = affinityMap({ maxEntries: 2, ttlMs: 1000, now: () => 0 });
    m.set('x', 'a');
    m.set('y', 'a');
    m.set('x', 'b'); // x is now the most recent
    m.set('z', 'c');
    expect([m.get('x'), m.get('y'), m.get('z'), m.size]).toEqual(['b', undefined, 'c', 2]);
  });
});

describe('bounded load', () => {
  it.each([
    { name: 'all idle', loads: [0, 0, 0], c: 0.25, want: ['a', 'b', 'c'] },
    { name: 'one request ahead on an idle pool keeps affinity (the ceiling)', loads: [1, 0, 0], c: 0.25, want: ['a', 'b', 'c'] },
    { name: 'two ahead on an idle pool spills', loads: [2, 0, 0], c: 0.25, want: ['b', 'c'] },
    { name: 'within (1 + c) × mean', loads: [10, 8, 8], c: 0.25, want: ['a', 'b', 'c'] },
    { name: 'beyond (1 + c) × mean', loads: [13, 6, 6], c: 0.25, want: ['b', 'c'] },
    { name: 'a larger c tolerates more', loads: [13, 6, 6], c: 1, want: ['a', 'b', 'c'] },
    { name: 'c = 0: at most the ceiling of the mean', loads: [4, 2, 3], c: 0, want: ['b', 'c'] },
  ])('$name: loads $loads → $want', ({ loads, c, want }) => {
    const cs = loads.map((l, i) => replica('abc'[i]!, { waiting: l }));
    expect([...withinBoundedLoad(cs, c)].sort()).toEqual(want);
  });

  it.each([
    { name: 'two ahead on an idle pool keep affinity below half of max_running', loads: [2, 0, 0], share: 0.5, want: ['a', 'b', 'c'] },
    { name: 'three ahead also (3 < 4)', loads: [3, 0, 0], share: 0.5, want: ['a', 'b', 'c'] },
    { name: 'four ahead reach half of max_running 8 and spill', loads: [4, 0, 0], share: 0.5, want: ['b', 'c'] },
    { name: 'a busy pool: the mean rule still decides above the free share', loads: [13, 6, 6], share: 0.5, want: ['b', 'c'] },
    { name: 'share 1: anything below max_running keeps it', loads: [7, 0, 0], share: 1, want: ['a', 'b', 'c'] },
    { name: 'a queue means no free slot', loads: [3, 0, 0], waiting: 1, share: 1, want: ['b', 'c'] },
  ])('free share $share, $name: loads $loads → $want', ({ loads, share, want, waiting = 0 }) => {
    const cs = loads.map((l, i) => replica('abc'[i]!, { running: l, waiting: l ? waiting : 0 }));
    expect([...withinBoundedLoad(cs, 0.25, share)].sort()).toEqual(want);
  });

  it('counts waiting, running and this edge in-flight alike', () => {
    const cs = [replica('a', { running: 8, waiting: 2, inflight: 3 }), replica('b'), replica('c', { inflight: 1 })];
    expect([...withinBoundedLoad(cs, 0.25)].sort()).toEqual(['b', 'c']);
  });
});
