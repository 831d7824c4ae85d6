import { describe, expect, it } from 'vitest';
import { type DelayHistogram, eventLoopDelayGauges } from './event-loop-delay.ts';

/** A histogram holding the samples (ns) it was given since its last reset. */
function fakeHistogram(): DelayHistogram & { add(ns: number): void } {
  let samples: number[] = [];
  return {
    add: (ns) => samples.push(ns),
    percentile: (p) => [...samples].sort((a, b) => a - b)[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)] ?? 0,
    get max() {
      return Math.max(0, ...samples);
    },
    get count() {
      return samples.length;
    },
    reset: () => {
      samples = [];
    },
  };
}

describe('eventLoopDelayGauges', () => {
  it('shows the current samples until the first window closes, then the last closed window', () => {
    let now = 0;
    const h = fakeHistogram();
    const gauges = eventLoopDelayGauges(h, { now: () => now, windowMs: 1000 });
    expect(gauges.read()).toEqual({ p99Ms: 0, maxMs: 0 });
    for (let i = 1; i <= 100; i++) h.add(i * 1e6);
    expect(gauges.read()).toEqual({ p99Ms: 99, maxMs: 100 });
    now = 1000; // window closes: its figures stay while the next one fills
    expect(gauges.read()).toEqual({ p99Ms: 99, maxMs: 100 });
    h.add(5e6);
    now = 1500;
    expect(gauges.read()).toEqual({ p99Ms: 99, maxMs: 100 });
    now = 2000;
    expect(gauges.read()).toEqual({ p99Ms: 5, maxMs: 5 });
  });

  it('renders both gauges in seconds', () => {
    const h = fakeHistogram();
    h.add(250e6);
    const text = eventLoopDelayGauges(h, { now: () => 0 }).render();
    expect(text).toContain('# TYPE motif_event_loop_delay_p99_seconds gauge\nmotif_event_loop_delay_p99_seconds 0.25\n');
    expect(text).toContain('\nmotif_event_loop_delay_max_seconds 0.25\n');
  });
});
