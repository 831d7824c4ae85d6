/**
 * The origin's event-loop delay gauges over Node's delay histogram. The engine decodes on the
 * event loop, so its steps show here as delay: the figure a soak or an operator watches.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type EventLoopDelayGauges, eventLoopDelayGauges } from '#shared/event-loop-delay.ts';

/** Start measuring; `close` stops the histogram's timer. */
export function nodeLoopDelayGauges(): EventLoopDelayGauges & { close(): void } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return { ...eventLoopDelayGauges(histogram, { now: () => Date.now() }), close: () => histogram.disable() };
}
