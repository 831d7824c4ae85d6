import { describe, expect, it } from 'vitest';
import { candidate } from '../testing/candidate.ts';
import type { RouteRequest } from '../types.ts';
import { blockHashes } from './block-hashes.ts';
import { prefixAffinityScorer } from './prefix-affinity-scorer.ts';

const replica = candidate;
const chat = (...parts: string[]): RouteRequest => ({ model: 'm', prompt: { field: 'messages', parts } });
const SYSTEM = 's'.repeat(64);
const TURN1 = 'u'.repeat(64);
const REPLY = 'r'.repeat(64);

describe('block hashes', () => {
  const hashes = (parts: string[], blockBytes = 16, maxBlocks = 100) => blockHashes({ field: 'messages', parts }, blockBytes, maxBlocks);

  it.each([
    { name: 'a prompt that extends another shares its full blocks', a: ['x'.repeat(40)], b: ['x'.repeat(40), 'more'], shared: 2 },
    { name: 'the partial last block only matches the same prompt', a: ['x'.repeat(20)], b: ['x'.repeat(21)], shared: 1 },
    { name: 'the same prompt shares everything', a: ['x'.repeat(20)], b: ['x'.repeat(20)], shared: 2 },
    { name: 'message boundaries count', a: ['ab', 'c'], b: ['a', 'bc'], shared: 0 },
    { name: 'a difference in the first byte shares nothing', a: ['y'.repeat(40)], b: ['x'.repeat(40)], shared: 0 },
    { name: 'multibyte text is cut on bytes', a: ['é'.repeat(16)], b: ['é'.repeat(16), 'z'], shared: 2 },
  ])('$name', ({ a, b, shared }) => {
    const ha = hashes(a);
    const hb = hashes(b);
    let n = 0;
    while (n < ha.length && ha[n] === hb[n]) n++;
    expect(n).toBe(shared);
  });

  it('counts blocks of UTF-8 bytes and stops at maxBlocks', () => {
    expect(hashes(['é'.repeat(16)])).toHaveLength(3); // 32 bytes + separator = 33 bytes
    expect(hashes(['x'.repeat(10_000)], 16, 4)).toHaveLength(4);
    expect(hashes([''], 16, 4)).toHaveLength(1); // the separator alone
  });
});

describe('prefix-affinity-scorer', () => {
  it.each([
    { name: 'nothing served yet', served: [], req: chat(SYSTEM, TURN1), want: [0, 0, 0] },
    { name: 'the same prompt again', served: [[chat(SYSTEM, TURN1), 'a']], req: chat(SYSTEM, TURN1), want: [1, 0, 0] },
    // 64 + 1 + 64 + 1 = 130 bytes are 4 full blocks of 32 that the next turn repeats, of its 7 blocks.
    { name: 'the next turn of the conversation', served: [[chat(SYSTEM, TURN1), 'a']], req: chat(SYSTEM, TURN1, REPLY, 'next'), want: [4 / 7, 0, 0] },
    { name: 'a shared system prompt only', served: [[chat(SYSTEM, TURN1), 'b']], req: chat(SYSTEM, 'other question'), want: [0, 2 / 3, 0] },
    {
      name: 'the longest prefix wins per replica; a shorter one another replica served last still counts',
      served: [
        [chat(SYSTEM, TURN1), 'a'],
        [chat(SYSTEM, 'v'.repeat(64)), 'c'],
      ],
      req: chat(SYSTEM, TURN1, REPLY),
      want: [4 / 7, 0, 2 / 7],
    },
    {
      name: 'a system prompt every replica served gives none an edge; the history decides',
      served: [
        [chat(SYSTEM, 'x'.repeat(64)), 'b'],
        [chat(SYSTEM, TURN1), 'a'],
        [chat(SYSTEM, 'y'.repeat(64)), 'c'],
      ],
      req: chat(SYSTEM, TURN1, REPLY),
      want: [4 / 7, 2 / 7, 2 / 7],
    },
    {
      name: 'a replica that served the prompt before another did still holds it',
      served: [
        [chat(SYSTEM, TURN1), 'a'],
        [chat(SYSTEM, TURN1), 'b'],
      ],
      req: chat(SYSTEM, TURN1),
      want: [1, 1, 0],
    },
    { name: 'another model does not count', served: [[{ ...chat(SYSTEM, TURN1), model: 'other' }, 'a']], req: chat(SYSTEM, TURN1), want: [0, 0, 0] },
    { name: 'a token-id prompt has no affinity', served: [[chat(SYSTEM), 'a']], req: { model: 'm' }, want: [0, 0, 0] },
  ] as { name: string; served: [RouteRequest, string][]; req: RouteRequest; want: number[] }[])('$name', ({ served, req, want }) => {
    const s = prefixAffinityScorer({ blockBytes: 32 }, () => 0);
    for (const [r, id] of served) s.observe!(r, id);
    const got = s.score(req, [replica('a'), replica('b'), replica('c')]);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 9));
  });

  it.each([
    { name: 'within the bounded load', loads: [10, 8, 8], want: 1 },
    { name: 'beyond it: no bonus, so the prefix spills over', loads: [13, 6, 6], want: 0 },
  ])('$name (loads $loads)', ({ loads, want }) => {
    const s = prefixAffinityScorer({ blockBytes: 32 }, () => 0);
    s.observe!(chat(SYSTEM), 'a');
    const cs = loads.map((l, i) => replica('abc'[i]!, { running: l }));
    expect(s.score(chat(SYSTEM), cs)[0]).toBe(want);
  });

  it('forgets a prefix after the TTL and keeps at most maxEntries', () => {
    let now = 0;
    const s = prefixAffinityScorer({ blockBytes: 32, ttlMs: 1000, maxEntries: 3 }, () => now);
    s.observe!(chat(SYSTEM, TURN1), 'a'); // 5 blocks: only the 3 shortest prefixes are kept
    expect(s.score(chat(SYSTEM, TURN1), [replica('a')])).toEqual([3 / 5]);
    now = 1001;
    expect(s.score(chat(SYSTEM, TURN1), [replica('a')])).toEqual([0]);
  });

  it('rejects bad params', () => {
    expect(() => prefixAffinityScorer({ blockBytes: 0 }, () => 0)).toThrow();
    expect(() => prefixAffinityScorer({ loadFactor: -1 }, () => 0)).toThrow();
    expect(() => prefixAffinityScorer({ blockSize: 256 } as never, () => 0)).toThrow();
  });
});
