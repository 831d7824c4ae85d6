import { describe, expect, it } from 'vitest';
import { candidate } from '../testing/candidate.ts';
import { saturated, saturationFilter } from './saturation-filter.ts';

describe('saturation-filter', () => {
  // maxRunning 8 throughout (the test candidate's default).
  it.each([
    { name: 'idle', c: { maxWaiting: 4 }, want: false },
    { name: 'all slots running, queue empty', c: { running: 8, maxWaiting: 4 }, want: false },
    { name: 'one queue place left', c: { running: 8, waiting: 3, maxWaiting: 4 }, want: false },
    { name: 'slots and queue full', c: { running: 8, waiting: 4, maxWaiting: 4 }, want: true },
    { name: 'no queue at all, slots full', c: { running: 8, maxWaiting: 0 }, want: true },
    { name: 'heartbeat says idle, this edge has filled it since', c: { inflight: 12, maxWaiting: 4 }, want: true },
    { name: 'this edge has 11 out, the heartbeat 10: one place left', c: { inflight: 11, running: 8, waiting: 2, maxWaiting: 4 }, want: false },
    { name: 'queue size not reported (older origin): never saturated', c: { running: 8, waiting: 500 }, want: false },
    { name: 'KV not judged by default', c: { kvUsage: 1, maxWaiting: 4 }, want: false },
  ])('$name → $want', ({ c, want }) => {
    expect(saturated(candidate('a', c))).toBe(want);
  });

  it.each([
    { kv: 0.97, max: 0.98, want: false },
    { kv: 0.98, max: 0.98, want: true },
  ])('KV usage $kv with maxKvUsage $max → $want', ({ kv, max, want }) => {
    expect(saturated(candidate('a', { kvUsage: kv }), { maxKvUsage: max })).toBe(want);
  });

  it('keeps replicas with room, and refuses with 503 + retry-after when none has', () => {
    const f = saturationFilter();
    const full = candidate('full', { running: 8, waiting: 4, maxWaiting: 4 });
    const room = candidate('room', { running: 2, maxWaiting: 4 });
    expect(f.filter({ model: 'm' }, [full, room]).map((c) => c.id)).toEqual(['room']);
    expect(f.filter({ model: 'm' }, [full])).toEqual([]);
    const err = f.refusal!({ model: 'm' }, [full]);
    expect(err.status).toBe(503);
    expect(err.retryAfter).toBe(1);
  });
});
