import { describe, expect, it } from 'vitest';
import { createScheduler, toCandidates } from './scheduler.ts';
import type { Candidate } from './types.ts';

function replica(id: string, o: Partial<Candidate> = {}): Candidate {
  return {
    id,
    url: `http://${id}`,
    model: 'm',
    revision: 'r',
    state: 'ready',
    waiting: 0,
    running: 0,
    maxRunning: 8,
    kvUsage: 0,
    inflight: 0,
    ageMs: 100,
    ...o,
  };
}

describe('default scheduler', () => {
  it.each([
    { name: 'least waiting first', cs: [replica('a', { waiting: 3 }), replica('b', { waiting: 1 }), replica('c', { waiting: 2 })], want: ['b', 'c', 'a'] },
    { name: 'in-flight counts as load', cs: [replica('a', { inflight: 2 }), replica('b', { waiting: 1 })], want: ['b', 'a'] },
    { name: 'other model filtered', cs: [replica('a', { model: 'x' }), replica('b')], want: ['b'] },
    { name: 'draining and starting filtered', cs: [replica('a', { state: 'draining' }), replica('b', { state: 'starting' }), replica('c')], want: ['c'] },
    { name: 'stale heartbeat filtered', cs: [replica('a', { ageMs: 3001 }), replica('b', { ageMs: 3000 })], want: ['b'] },
    { name: 'nothing eligible', cs: [replica('a', { state: 'draining' })], want: [] },
  ])('$name', ({ cs, want }) => {
    const s = createScheduler({ random: () => 0.5 });
    expect(s.rank({ model: 'm' }, cs).map((c) => c.id)).toEqual(want);
  });

  it('breaks ties at random', () => {
    const seq = [0.9, 0.1];
    let i = 0;
    const s = createScheduler({ random: () => seq[i++ % 2]! });
    expect(s.rank({ model: 'm' }, [replica('a'), replica('b')]).map((c) => c.id)).toEqual(['b', 'a']);
  });

  it('rejects an unknown plugin in the profile at construction', () => {
    expect(() => createScheduler({ profile: { filters: [{ type: 'magic-filter' }], picker: { type: 'least-load-picker' } } })).toThrow(/filters/);
    expect(() => createScheduler({ profile: { filters: [{ type: 'ready-filter', params: { ttlMs: -1 } }], picker: { type: 'least-load-picker' } } })).toThrow();
  });

  it('a profile can pin a revision', () => {
    const s = createScheduler({ profile: { filters: [{ type: 'model-filter', params: { revision: 'r2' } }], picker: { type: 'least-load-picker' } } });
    expect(s.rank({ model: 'm' }, [replica('a'), replica('b', { revision: 'r2' })]).map((c) => c.id)).toEqual(['b']);
  });
});

it("toCandidates uses the edge clock for age and this edge's in-flight counts", () => {
  const hb = {
    replica_id: 'a',
    node_id: 'n',
    url: 'http://a',
    model: 'm',
    revision: 'r',
    state: 'ready' as const,
    waiting: 1,
    running: 2,
    max_running: 8,
    kv_usage: 0.5,
    tokens_per_s: 9,
    ts: 1,
  };
  const [c] = toCandidates([{ heartbeat: hb, lastSeen: 1000, firstSeen: 0, drainedAt: null }], 2500, (id) => (id === 'a' ? 4 : 0));
  expect(c).toMatchObject({ id: 'a', ageMs: 1500, inflight: 4, waiting: 1, kvUsage: 0.5 });
});
