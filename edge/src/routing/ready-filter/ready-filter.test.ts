import { describe, expect, it } from 'vitest';
import { createScheduler, toCandidates } from '../scheduler.ts';
import { inRotation, readyFilter } from './ready-filter.ts';

const hb = (state: 'starting' | 'ready' | 'draining') => ({
  replica_id: 'a',
  node_id: 'n',
  url: 'http://a',
  model: 'm',
  revision: 'r',
  state,
  waiting: 0,
  running: 0,
  max_running: 8,
  kv_usage: 0,
  tokens_per_s: 0,
  ts: 1,
});

// One table for every place that asks: the rule itself, the routing filter and the scheduler's
// pool-entry check (what /healthz, /admin/pool and /v1/models use).
const TABLE: { name: string; state: 'starting' | 'ready' | 'draining'; ageMs: number; ttlMs: number; drained?: boolean; want: boolean }[] = [
  { name: 'ready and fresh', state: 'ready', ageMs: 100, ttlMs: 3000, want: true },
  { name: 'ready, exactly at the TTL', state: 'ready', ageMs: 3000, ttlMs: 3000, want: true },
  { name: 'ready, 1 ms past the TTL', state: 'ready', ageMs: 3001, ttlMs: 3000, want: false },
  { name: 'ready, within a longer configured TTL', state: 'ready', ageMs: 5000, ttlMs: 10_000, want: true },
  { name: 'ready, past a shorter configured TTL', state: 'ready', ageMs: 1500, ttlMs: 1000, want: false },
  { name: 'ready, heard just now', state: 'ready', ageMs: 0, ttlMs: 1, want: true },
  { name: 'starting and fresh', state: 'starting', ageMs: 0, ttlMs: 3000, want: false },
  { name: 'draining and fresh', state: 'draining', ageMs: 0, ttlMs: 3000, want: false },
  { name: 'draining and stale', state: 'draining', ageMs: 9000, ttlMs: 3000, want: false },
  { name: 'ready and fresh but drained by an operator', state: 'ready', ageMs: 0, ttlMs: 3000, drained: true, want: false },
  { name: 'draining and drained', state: 'draining', ageMs: 0, ttlMs: 3000, drained: true, want: false },
];

describe('in rotation', () => {
  it.each(TABLE)('$name (age $ageMs, ttl $ttlMs) → $want', ({ state, ageMs, ttlMs, drained = false, want }) => {
    expect(inRotation({ state, ageMs, drained }, ttlMs)).toBe(want);

    const candidate = {
      id: 'a',
      url: 'http://a',
      model: 'm',
      revision: 'r',
      state,
      waiting: 0,
      running: 0,
      maxRunning: 8,
      kvUsage: 0,
      inflight: 0,
      ageMs,
      drained,
    };
    expect(readyFilter({ ttlMs }).filter({ model: 'm' }, [candidate]).length === 1).toBe(want);

    const scheduler = createScheduler({ profile: { filters: [{ type: 'ready-filter', params: { ttlMs } }], picker: { type: 'least-load-picker' } } });
    const now = 1_000_000;
    expect(scheduler.inRotation({ heartbeat: hb(state), lastSeen: now - ageMs, firstSeen: 0, drainedAt: drained ? now : null }, now)).toBe(want);
    const [asCandidate] = toCandidates([{ heartbeat: hb(state), lastSeen: now - ageMs, firstSeen: 0, drainedAt: drained ? now : null }], now, () => 0);
    expect(readyFilter({ ttlMs }).filter({ model: 'm' }, [asCandidate!]).length === 1).toBe(want);
  });

  it('the scheduler uses the protocol TTL when the profile has no ready-filter, and the shortest of several', () => {
    const entry = (ageMs: number) => ({ heartbeat: hb('ready'), lastSeen: 10_000 - ageMs, firstSeen: 0, drainedAt: null });
    const none = createScheduler({ profile: { filters: [], picker: { type: 'least-load-picker' } } });
    expect([none.inRotation(entry(3000), 10_000), none.inRotation(entry(3001), 10_000)]).toEqual([true, false]);
    const two = createScheduler({
      profile: {
        filters: [
          { type: 'ready-filter', params: { ttlMs: 5000 } },
          { type: 'ready-filter', params: { ttlMs: 2000 } },
        ],
        picker: { type: 'least-load-picker' },
      },
    });
    expect([two.inRotation(entry(2000), 10_000), two.inRotation(entry(2001), 10_000)]).toEqual([true, false]);
  });

  it("a heartbeat from the edge clock's future counts as fresh", () => {
    const s = createScheduler();
    expect(s.inRotation({ heartbeat: hb('ready'), lastSeen: 2000, firstSeen: 0, drainedAt: null }, 1000)).toBe(true);
  });
});
