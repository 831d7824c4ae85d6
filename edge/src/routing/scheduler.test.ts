import { describe, expect, it } from 'vitest';
import { createScheduler, rankWith, toCandidates } from './scheduler.ts';
import { candidate } from './testing/candidate.ts';
import type { Candidate, Picker } from './types.ts';

const replica = (id: string, o: Partial<Candidate> = {}): Candidate => candidate(id, { ageMs: 100, ...o });

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

  it.each([
    { name: 'an unknown filter', profile: { filters: [{ type: 'magic-filter' }], picker: { type: 'least-load-picker' } }, message: /filters\.0\.type/ },
    {
      name: 'bad filter params',
      profile: { filters: [{ type: 'ready-filter', params: { ttlMs: -1 } }], picker: { type: 'least-load-picker' } },
      message: /filters\.0\.params\.ttlMs/,
    },
    {
      name: 'an unknown scorer',
      profile: { filters: [], scorers: [{ type: 'magic-scorer' }], picker: { type: 'max-score-picker' } },
      message: /scorers\.0\.type.*queue-scorer/,
    },
    {
      name: 'a negative weight',
      profile: { filters: [], scorers: [{ type: 'kv-scorer', weight: -1 }], picker: { type: 'max-score-picker' } },
      message: /scorers\.0\.weight/,
    },
    {
      name: 'a misspelt scorer field',
      profile: { filters: [], scorers: [{ type: 'kv-scorer', wieght: 2 }], picker: { type: 'max-score-picker' } },
      message: /wieght/,
    },
    {
      name: 'bad scorer params',
      profile: {
        filters: [],
        scorers: [{ type: 'queue-scorer' }, { type: 'prefix-affinity-scorer', params: { blockBytes: 0 } }],
        picker: { type: 'max-score-picker' },
      },
      message: /scorers\.1\.params\.blockBytes/,
    },
    {
      name: 'params for a scorer that takes none',
      profile: { filters: [], scorers: [{ type: 'kv-scorer', params: { x: 1 } }], picker: { type: 'max-score-picker' } },
      message: /scorers\.0\.params/,
    },
    { name: 'an unknown picker', profile: { filters: [], picker: { type: 'magic-picker' } }, message: /picker\.type/ },
  ])('rejects $name at construction, saying where', ({ profile, message }) => {
    expect(() => createScheduler({ profile })).toThrow(/^invalid scheduler profile: /);
    expect(() => createScheduler({ profile })).toThrow(message);
  });

  it('a profile can pin a revision', () => {
    const s = createScheduler({ profile: { filters: [{ type: 'model-filter', params: { revision: 'r2' } }], picker: { type: 'least-load-picker' } } });
    expect(s.rank({ model: 'm' }, [replica('a'), replica('b', { revision: 'r2' })]).map((c) => c.id)).toEqual(['b']);
  });
});

describe('scorers', () => {
  const idle = () => [replica('a'), replica('b'), replica('c')];
  const constant = (scores: Record<string, number>) => ({ type: 'fixed', score: (_r: unknown, cs: readonly Candidate[]) => cs.map((c) => scores[c.id] ?? 0) });

  it.each([
    {
      name: 'queue depth',
      cs: [replica('a', { running: 8 }), replica('b', { running: 2 }), replica('c', { waiting: 4, running: 8 })],
      scorer: 'queue-scorer',
      want: ['b', 'a', 'c'],
    },
    {
      name: 'KV usage',
      cs: [replica('a', { kvUsage: 0.9 }), replica('b', { kvUsage: 0.1 }), replica('c', { kvUsage: 0.5 })],
      scorer: 'kv-scorer',
      want: ['b', 'c', 'a'],
    },
    {
      name: 'this edge in-flight',
      cs: [replica('a', { inflight: 1 }), replica('b', { inflight: 3 }), replica('c')],
      scorer: 'inflight-scorer',
      want: ['c', 'a', 'b'],
    },
  ])('one scorer orders by its score: $name', ({ cs, scorer, want }) => {
    const s = createScheduler({ profile: { filters: [], scorers: [{ type: scorer }], picker: { type: 'max-score-picker' } }, random: () => 0.5 });
    expect(s.rank({ model: 'm' }, cs).map((c) => c.id)).toEqual(want);
  });

  it('weights decide between scorers that disagree', () => {
    // a: short queue, full cache; b: long queue, empty cache.
    const cs = [replica('a', { kvUsage: 1 }), replica('b', { running: 8 })];
    const profile = (queue: number, kv: number) => ({
      filters: [],
      scorers: [
        { type: 'queue-scorer', weight: queue },
        { type: 'kv-scorer', weight: kv },
      ],
      picker: { type: 'max-score-picker' },
    });
    expect(createScheduler({ profile: profile(1, 1) }).rank({ model: 'm' }, cs)[0]!.id).toBe('b');
    expect(createScheduler({ profile: profile(3, 1) }).rank({ model: 'm' }, cs)[0]!.id).toBe('a');
    expect(createScheduler({ profile: profile(1, 0) }).rank({ model: 'm' }, cs)[0]!.id).toBe('a');
  });

  it('the default profile keeps a prompt on the replica that served its prefix, and spills it when that one is busy', () => {
    const s = createScheduler({ random: () => 0.5 });
    const turn1 = { model: 'm', prompt: { field: 'messages' as const, parts: ['system '.repeat(100), 'question one'] } };
    const turn2 = { model: 'm', prompt: { field: 'messages' as const, parts: [...turn1.prompt.parts, 'answer one', 'question two'] } };
    s.observe(turn1, 'c');
    expect(s.rank(turn2, idle())[0]!.id).toBe('c');
    expect(s.rank(turn2, [replica('a'), replica('b', { inflight: 1 }), replica('c', { waiting: 1 })])[0]!.id).toBe('c');
    expect(s.rank(turn2, [replica('a'), replica('b'), replica('c', { waiting: 4, running: 8 })])[0]!.id).not.toBe('c');
  });

  it('the default profile keeps a session on its replica', () => {
    const s = createScheduler({ random: () => 0.5 });
    s.observe({ model: 'm', session: 'u1' }, 'b');
    expect(s.rank({ model: 'm', session: 'u1' }, idle())[0]!.id).toBe('b');
  });

  it('a score outside [0,1] or NaN is held to [0,1]', () => {
    const seen: number[][] = [];
    const picker: Picker = {
      type: 'spy',
      order: (_req, cs, totals) => {
        seen.push([...totals]);
        return cs;
      },
    };
    rankWith(
      { filters: [], scorers: [{ scorer: constant({ a: 7, b: Number.NaN, c: -2 }), weight: 2 }], picker, rotationTtlMs: 1 },
      () => 0,
      { model: 'm' },
      idle(),
    );
    expect(seen).toEqual([[2, 0, 0]]);
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
