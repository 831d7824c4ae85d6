import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { createScheduler } from '../scheduler.ts';
import { candidate } from '../testing/candidate.ts';
import type { Candidate } from '../types.ts';
import { circuitFilter } from './circuit-filter.ts';

const replica = (id: string, circuitWaitMs?: number): Candidate => candidate(id, circuitWaitMs === undefined ? {} : { circuitWaitMs });

describe('circuit-filter', () => {
  it.each([
    { name: 'no circuit known', cs: [replica('a')], want: ['a'] },
    { name: 'closed or half-open with the probe free', cs: [replica('a', 0)], want: ['a'] },
    { name: 'open is skipped', cs: [replica('a', 1200), replica('b', 0)], want: ['b'] },
    { name: 'every circuit open', cs: [replica('a', 1200), replica('b', 1)], want: [] },
  ])('$name', ({ cs, want }) => {
    expect(
      circuitFilter()
        .filter({ model: 'm' }, cs)
        .map((c) => c.id),
    ).toEqual(want);
  });

  it.each([
    { name: 'the soonest circuit, rounded up', waits: [4200, 1200], retryAfter: 2 },
    { name: 'at least one second', waits: [5], retryAfter: 1 },
  ])('every circuit open → 503 with retry-after: $name', ({ waits, retryAfter }) => {
    const s = createScheduler();
    const run = () =>
      s.rank(
        { model: 'm' },
        waits.map((w, i) => replica(`r${i}`, w)),
      );
    expect(run).toThrow(ApiError);
    try {
      run();
    } catch (e) {
      expect(e).toMatchObject({ code: 'origin_unavailable', retryAfter });
    }
  });

  it('is in the default profile after ready-filter: nothing in rotation stays the plain 503 (empty ranking)', () => {
    expect(createScheduler().rank({ model: 'm' }, [{ ...replica('a', 1000), state: 'draining' }])).toEqual([]);
  });

  it('takes no params', () => {
    expect(() => createScheduler({ profile: { filters: [{ type: 'circuit-filter', params: { x: 1 } }], picker: { type: 'least-load-picker' } } })).toThrow();
  });
});
