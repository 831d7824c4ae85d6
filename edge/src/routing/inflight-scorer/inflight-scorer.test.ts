import { describe, expect, it } from 'vitest';
import { candidate } from '../testing/candidate.ts';
import type { Candidate } from '../types.ts';
import { inflightScorer } from './inflight-scorer.ts';

const replica = (o: Partial<Candidate>): Candidate => candidate('a', o);

describe('inflight-scorer', () => {
  it.each([
    { name: 'nothing in flight', c: {}, want: 1 },
    { name: 'two of a batch of 8', c: { inflight: 2 }, want: 0.8 },
    { name: 'a batch', c: { inflight: 8 }, want: 0.5 },
    { name: 'the heartbeat load is not its concern', c: { waiting: 9, running: 8 }, want: 1 },
    { name: 'max_running 0 is taken as 1', c: { inflight: 1, maxRunning: 0 }, want: 0.5 },
  ])('$name → $want', ({ c, want }) => {
    expect(inflightScorer().score({ model: 'm' }, [replica(c)])[0]).toBeCloseTo(want, 9);
  });
});
