import { describe, expect, it } from 'vitest';
import { candidate } from '../testing/candidate.ts';
import type { Candidate } from '../types.ts';
import { kvScorer } from './kv-scorer.ts';

const replica = (kvUsage: number): Candidate => candidate('a', { kvUsage });

describe('kv-scorer', () => {
  it.each([
    { kvUsage: 0, want: 1 },
    { kvUsage: 0.25, want: 0.75 },
    { kvUsage: 1, want: 0 },
    { kvUsage: 1.2, want: 0 },
    { kvUsage: -0.1, want: 1 },
  ])('kv_usage $kvUsage → $want', ({ kvUsage, want }) => {
    expect(kvScorer().score({ model: 'm' }, [replica(kvUsage)])[0]).toBeCloseTo(want, 9);
  });
});
