import { describe, expect, it } from 'vitest';
import { candidate } from '../testing/candidate.ts';
import type { Candidate } from '../types.ts';
import { queueScorer } from './queue-scorer.ts';

const replica = (o: Partial<Candidate>): Candidate => candidate('a', o);

describe('queue-scorer', () => {
  it.each([
    { name: 'idle', c: {}, want: 1 },
    { name: 'half a batch running', c: { running: 4 }, want: 2 / 3 },
    { name: 'a full batch', c: { running: 8 }, want: 0.5 },
    { name: 'a full batch and a queue as long', c: { running: 8, waiting: 8 }, want: 1 / 3 },
    { name: 'queued counts like running', c: { waiting: 8 }, want: 0.5 },
    { name: 'max_running 0 is taken as 1', c: { running: 1, maxRunning: 0 }, want: 0.5 },
    { name: 'a burst the heartbeat has not seen yet: the in-flight count', c: { inflight: 8 }, want: 0.5 },
    { name: 'in-flight already in the heartbeat is not counted twice', c: { running: 8, inflight: 8 }, want: 0.5 },
    { name: 'other edges load the replica beyond our in-flight', c: { running: 8, inflight: 2 }, want: 0.5 },
  ])('$name → $want', ({ c, want }) => {
    expect(queueScorer().score({ model: 'm' }, [replica(c)])[0]).toBeCloseTo(want, 9);
  });
});
