import { describe, expect, it } from 'vitest';
import { candidate } from '../testing/candidate.ts';
import type { Candidate } from '../types.ts';
import { maxScorePicker } from './max-score-picker.ts';

const replica = (id: string): Candidate => candidate(id);

describe('max-score-picker', () => {
  it.each([
    { name: 'highest total first', totals: [1, 3, 2], randoms: [0.5], want: ['b', 'c', 'a'] },
    { name: 'ties in random order', totals: [2, 2, 1], randoms: [0.9, 0.1, 0.5], want: ['b', 'a', 'c'] },
    { name: 'ties the other way', totals: [2, 2, 1], randoms: [0.1, 0.9, 0.5], want: ['a', 'b', 'c'] },
    { name: 'all equal: the random order', totals: [0, 0, 0], randoms: [0.3, 0.2, 0.1], want: ['c', 'b', 'a'] },
  ])('$name', ({ totals, randoms, want }) => {
    let i = 0;
    const random = () => randoms[i++ % randoms.length]!;
    const cs = ['a', 'b', 'c'].map(replica);
    expect(
      maxScorePicker()
        .order({ model: 'm' }, cs, totals, random)
        .map((c) => c.id),
    ).toEqual(want);
  });
});
