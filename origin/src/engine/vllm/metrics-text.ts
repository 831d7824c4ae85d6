/**
 * vLLM's `/metrics` (Prometheus text) → the engine's stats. Reads the gauges the router needs
 * (`vllm:num_requests_running`, `…_waiting`, `vllm:kv_cache_usage_perc`, or
 * `vllm:gpu_cache_usage_perc` on older releases) and the token and prefix-cache counters, summed
 * over label sets. A restarted server starts its counters from zero: `createCounterCarry` keeps
 * the engine's totals monotonic across restarts. Throughput is the generation counter's growth
 * between two scrapes. Pure.
 */
import type { EngineStats } from '../types.ts';

export interface VllmSample {
  running: number;
  waiting: number;
  kvUsage: number;
  promptTokensTotal: number;
  generationTokensTotal: number;
  prefixCacheQueries: number;
  prefixCacheHits: number;
}

export type Counters = Pick<VllmSample, 'promptTokensTotal' | 'generationTokensTotal' | 'prefixCacheQueries' | 'prefixCacheHits'>;
const COUNTERS = ['promptTokensTotal', 'generationTokensTotal', 'prefixCacheQueries', 'prefixCacheHits'] as const;

const NAMES: Record<keyof VllmSample, readonly string[]> = {
  running: ['vllm:num_requests_running'],
  waiting: ['vllm:num_requests_waiting'],
  kvUsage: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
  promptTokensTotal: ['vllm:prompt_tokens_total'],
  generationTokensTotal: ['vllm:generation_tokens_total'],
  prefixCacheQueries: ['vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total'],
  prefixCacheHits: ['vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total'],
};

/** Sum of every sample of each metric family in `text` (labels ignored); NaN and comments skipped. */
export function parsePrometheusText(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    sums.set(m[1]!, (sums.get(m[1]!) ?? 0) + v);
  }
  return sums;
}

/** The sample `text` holds; a metric this release does not export reads 0. */
export function readVllmSample(text: string): VllmSample {
  const sums = parsePrometheusText(text);
  const pick = (key: keyof VllmSample) => {
    for (const name of NAMES[key]) {
      const v = sums.get(name);
      if (v !== undefined) return v;
    }
    return 0;
  };
  return {
    running: pick('running'),
    waiting: pick('waiting'),
    // A fraction (vLLM: "1 means 100 percent"), clamped against rounding.
    kvUsage: Math.min(1, Math.max(0, pick('kvUsage'))),
    promptTokensTotal: pick('promptTokensTotal'),
    generationTokensTotal: pick('generationTokensTotal'),
    prefixCacheQueries: pick('prefixCacheQueries'),
    prefixCacheHits: pick('prefixCacheHits'),
  };
}

/** Monotonic totals over a series of servers, each counting from zero. */
export interface CounterCarry {
  /** A scrape of the server that is running now: the totals including every earlier server. */
  observe(sample: Counters): Counters;
  /** The server was replaced: its last counts become part of the base. */
  restarted(): void;
}

export function createCounterCarry(): CounterCarry {
  const base: Counters = { promptTokensTotal: 0, generationTokensTotal: 0, prefixCacheQueries: 0, prefixCacheHits: 0 };
  let lastRaw: Counters | undefined;
  return {
    observe(sample) {
      // A counter that went backwards means a restart nobody announced: carry what was seen.
      const prev = lastRaw;
      if (prev && COUNTERS.some((k) => sample[k] < prev[k])) for (const k of COUNTERS) base[k] += prev[k];
      lastRaw = { ...sample };
      return {
        promptTokensTotal: base.promptTokensTotal + sample.promptTokensTotal,
        generationTokensTotal: base.generationTokensTotal + sample.generationTokensTotal,
        prefixCacheQueries: base.prefixCacheQueries + sample.prefixCacheQueries,
        prefixCacheHits: base.prefixCacheHits + sample.prefixCacheHits,
      };
    },
    restarted() {
      if (lastRaw) for (const k of COUNTERS) base[k] += lastRaw[k];
      lastRaw = undefined;
    },
  };
}

/** Generation tokens per second between two scrapes (0 when time did not pass or counters reset). */
export function tokensPerSecond(prev: { atMs: number; generated: number } | undefined, now: { atMs: number; generated: number }): number {
  if (!prev || now.atMs <= prev.atMs || now.generated < prev.generated) return 0;
  return ((now.generated - prev.generated) * 1000) / (now.atMs - prev.atMs);
}

/** The engine's stats from the latest scrape, the carried totals and the configured batch size. */
export function toEngineStats(sample: VllmSample | undefined, totals: Counters, maxRunning: number, tps: number): EngineStats {
  return {
    waiting: sample?.waiting ?? 0,
    running: sample?.running ?? 0,
    maxRunning,
    kvUsage: sample?.kvUsage ?? 0,
    tokensPerSecond: tps,
    ...totals,
  };
}
