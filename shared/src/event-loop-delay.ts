/**
 * Event-loop delay as Prometheus gauges, the same two in edge and origin:
 * `motif_event_loop_delay_p99_seconds` and `motif_event_loop_delay_max_seconds`, over the last
 * completed window (10 s by default; before the first window closes, over what was seen so far).
 * A window rather than "since the last scrape", so two scrapers do not steal each other's samples.
 * The histogram is the runtime's (Node: `perf_hooks.monitorEventLoopDelay`, in nanoseconds),
 * passed in by the composition root; a runtime without one (workerd) has no such gauge.
 */
import { family } from './prometheus-text.ts';

/** What the gauges read from a delay histogram, in nanoseconds (Node's IntervalHistogram has it). */
export interface DelayHistogram {
  percentile(p: number): number;
  readonly max: number;
  readonly count: number;
  reset(): void;
}

export interface EventLoopDelayGauges {
  /** The exposition text of both gauges. */
  render(): string;
  /** The window's figures in milliseconds (what `render` shows). */
  read(): { p99Ms: number; maxMs: number };
}

export const LOOP_DELAY_WINDOW_MS = 10_000;

export function eventLoopDelayGauges(histogram: DelayHistogram, opts: { now: () => number; windowMs?: number }): EventLoopDelayGauges {
  const windowMs = opts.windowMs ?? LOOP_DELAY_WINDOW_MS;
  let windowStart = opts.now();
  let last: { p99Ms: number; maxMs: number } | undefined;
  const current = () => (histogram.count === 0 ? { p99Ms: 0, maxMs: 0 } : { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 });
  const read = () => {
    const now = opts.now();
    if (now - windowStart >= windowMs) {
      last = current();
      histogram.reset();
      windowStart = now;
    }
    return last ?? current();
  };
  return {
    read,
    render() {
      const { p99Ms, maxMs } = read();
      return `${[
        family('motif_event_loop_delay_p99_seconds', 'gauge', `Event-loop delay, 99th percentile over the last ${windowMs / 1000} s window.`, [
          [{}, p99Ms / 1000],
        ]),
        family('motif_event_loop_delay_max_seconds', 'gauge', `Event-loop delay, maximum over the last ${windowMs / 1000} s window.`, [[{}, maxMs / 1000]]),
      ].join('\n')}\n`;
    },
  };
}
