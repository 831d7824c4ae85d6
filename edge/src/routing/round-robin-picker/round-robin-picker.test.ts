import { describe, expect, it } from 'vitest';
import { candidate } from '../testing/candidate.ts';
import { roundRobinPicker } from './round-robin-picker.ts';

const order = (p: ReturnType<typeof roundRobinPicker>, ids: string[]) =>
  p
    .order(
      { model: 'm' },
      ids.map((id) => candidate(id)),
      ids.map(() => 0),
      () => 0,
    )
    .map((c) => c.id);

describe('round-robin-picker', () => {
  it.each([
    {
      name: 'three replicas, four turns',
      sets: [
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
      ],
      want: ['abc', 'bca', 'cab', 'abc'],
    },
    {
      name: 'arrival order does not matter',
      sets: [
        ['c', 'a', 'b'],
        ['b', 'c', 'a'],
      ],
      want: ['abc', 'bca'],
    },
    {
      name: 'a replica leaves: the turn goes on over the rest',
      sets: [
        ['a', 'b', 'c'],
        ['a', 'c'],
      ],
      want: ['abc', 'ca'],
    },
    { name: 'one replica', sets: [['a'], ['a']], want: ['a', 'a'] },
    { name: 'none', sets: [[]], want: [''] },
  ])('$name', ({ sets, want }) => {
    const p = roundRobinPicker();
    expect(sets.map((ids) => order(p, ids).join(''))).toEqual(want);
  });

  it('ignores totals and load: the turn alone decides', () => {
    const p = roundRobinPicker();
    const cs = [candidate('a', { waiting: 50 }), candidate('b')];
    expect(p.order({ model: 'm' }, cs, [0, 9], () => 0)[0]!.id).toBe('a');
    expect(p.order({ model: 'm' }, cs, [9, 0], () => 0)[0]!.id).toBe('b');
  });
});
