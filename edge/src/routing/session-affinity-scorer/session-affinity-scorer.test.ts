import { describe, expect, it } from 'vitest';
import { candidate } from '../testing/candidate.ts';
import type { Candidate, RouteRequest } from '../types.ts';
import { sessionAffinityScorer } from './session-affinity-scorer.ts';

const replica = (id: string, running = 0): Candidate => candidate(id, { running });

describe('session-affinity-scorer', () => {
  it.each([
    { name: 'no session', served: [], req: { model: 'm' }, want: [0, 0, 0] },
    { name: 'a new session', served: [], req: { model: 'm', session: 'u1' }, want: [0, 0, 0] },
    { name: 'a known session', served: [[{ model: 'm', session: 'u1' }, 'b']], req: { model: 'm', session: 'u1' }, want: [0, 1, 0] },
    { name: 'another session', served: [[{ model: 'm', session: 'u1' }, 'b']], req: { model: 'm', session: 'u2' }, want: [0, 0, 0] },
    {
      name: 'the last replica counts',
      served: [
        [{ model: 'm', session: 'u1' }, 'b'],
        [{ model: 'm', session: 'u1' }, 'c'],
      ],
      req: { model: 'm', session: 'u1' },
      want: [0, 0, 1],
    },
    { name: 'another model', served: [[{ model: 'x', session: 'u1' }, 'b']], req: { model: 'm', session: 'u1' }, want: [0, 0, 0] },
    { name: 'a request without a session teaches nothing', served: [[{ model: 'm' }, 'b']], req: { model: 'm', session: 'u1' }, want: [0, 0, 0] },
  ] as { name: string; served: [RouteRequest, string][]; req: RouteRequest; want: number[] }[])('$name', ({ served, req, want }) => {
    const s = sessionAffinityScorer({}, () => 0);
    for (const [r, id] of served) s.observe!(r, id);
    expect(s.score(req, [replica('a'), replica('b'), replica('c')])).toEqual(want);
  });

  it('no bonus beyond the bounded load, and none after the TTL', () => {
    let now = 0;
    const s = sessionAffinityScorer({ ttlMs: 100 }, () => now);
    s.observe!({ model: 'm', session: 'u1' }, 'a');
    expect(s.score({ model: 'm', session: 'u1' }, [replica('a', 12), replica('b'), replica('c')])).toEqual([0, 0, 0]);
    expect(s.score({ model: 'm', session: 'u1' }, [replica('a', 1), replica('b'), replica('c')])).toEqual([1, 0, 0]);
    now = 101;
    expect(s.score({ model: 'm', session: 'u1' }, [replica('a'), replica('b'), replica('c')])).toEqual([0, 0, 0]);
  });
});
