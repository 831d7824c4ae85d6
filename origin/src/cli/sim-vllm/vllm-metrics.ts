/**
 * The standalone simulator's `/metrics` under vLLM's names and units, so whatever scrapes a vLLM
 * server (the vLLM tier, dashboards) can scrape the stand-in: running/waiting gauges, KV usage as
 * a fraction, prefix-cache queries and hits in tokens, token counters, and the time-to-first-token
 * histogram with vLLM's buckets. Samples carry vLLM's `model_name` label.
 */
import { createHistogram, type Histogram } from '#shared/prometheus-text.ts';
import type { Engine, EngineEvent, EngineStats, GenerateRequest } from '../../engine/types.ts';
import { vllmEngineFamilies } from '../../server/metrics.ts';

/** vLLM's `time_to_first_token_seconds` buckets. */
export const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];

export interface VllmMetrics {
  /** `engine`, timing each request's first token into the histogram. */
  timed(engine: Engine): Engine;
  render(model: string, stats: EngineStats): string;
}

export function createVllmMetrics(now: () => number): VllmMetrics {
  const ttft: Histogram = createHistogram(TTFT_BUCKETS);
  return {
    timed(engine) {
      async function* generate(req: GenerateRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
        const t0 = now();
        let first = true;
        for await (const ev of engine.generate(req, signal)) {
          if (first && ev.type === 'delta') {
            first = false;
            ttft.observe((now() - t0) / 1000);
          }
          yield ev;
        }
      }
      return {
        info: () => engine.info(),
        load: () => engine.load(),
        generate,
        drain: () => engine.drain(),
        stats: () => engine.stats(),
        close: () => engine.close(),
      };
    },
    render(model, s) {
      const ttftFamily = ttft.render('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', { model_name: model });
      return `${[...vllmEngineFamilies(model, s, s.waiting), ttftFamily].join('\n')}\n`;
    },
  };
}
