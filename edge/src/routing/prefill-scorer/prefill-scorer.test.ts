import { describe, expect, it } from 'vitest';
import { inflightTracker } from '../inflight.ts';
import { candidate } from '../testing/candidate.ts';
import { prefillScorer } from './prefill-scorer.ts';

describe('prefill-scorer', () => {
  it.each([
    { name: 'nothing waiting', c: { awaitingFirstToken: 0 }, want: 1 },
    { name: 'one waiting', c: { awaitingFirstToken: 1 }, want: 0.5 },
    { name: 'three waiting', c: { awaitingFirstToken: 3 }, want: 0.25 },
    { name: 'streaming many, none waiting: free to start a newcomer', c: { inflight: 8, running: 8, awaitingFirstToken: 0 }, want: 1 },
    { name: 'not tracked', c: {}, want: 1 },
  ])('$name → $want', ({ c, want }) => {
    expect(prefillScorer().score({ model: 'm' }, [candidate('a', c)])[0]).toBeCloseTo(want, 9);
  });
});

describe('awaiting first token, in the in-flight tracker', () => {
  it.each([
    { name: 'sent, nothing back yet', steps: ['acquire'], want: { inflight: 1, awaiting: 1 } },
    { name: 'first token arrived', steps: ['acquire', 'started'], want: { inflight: 1, awaiting: 0 } },
    { name: 'started twice counts once', steps: ['acquire', 'started', 'started'], want: { inflight: 1, awaiting: 0 } },
    { name: 'released before any token (failed, JSON answer)', steps: ['acquire', 'release'], want: { inflight: 0, awaiting: 0 } },
    { name: 'released after its first token', steps: ['acquire', 'started', 'release', 'release'], want: { inflight: 0, awaiting: 0 } },
    { name: 'started after release changes nothing', steps: ['acquire', 'release', 'started'], want: { inflight: 0, awaiting: 0 } },
  ])('$name', ({ steps, want }) => {
    const t = inflightTracker();
    const other = t.acquire('r'); // another request to the same replica, untouched throughout
    let slot: ReturnType<typeof t.acquire> | undefined;
    for (const s of steps) {
      if (s === 'acquire') slot = t.acquire('r');
      else if (s === 'started') slot!.started();
      else slot!();
    }
    expect({ inflight: t.get('r') - 1, awaiting: t.awaiting('r') - 1 }).toEqual(want);
    other();
  });
});
