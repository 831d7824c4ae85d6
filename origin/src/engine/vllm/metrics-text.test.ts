import { describe, expect, it } from 'vitest';
import { createCounterCarry, parsePrometheusText, readVllmSample, toEngineStats, tokensPerSecond } from './metrics-text.ts';

const CURRENT = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="motif-2.6b"} 3.0
vllm:num_requests_waiting{engine="0",model_name="motif-2.6b"} 2.0
vllm:kv_cache_usage_perc{engine="0",model_name="motif-2.6b"} 0.25
vllm:prompt_tokens_total{engine="0",model_name="motif-2.6b"} 1200.0
vllm:generation_tokens_total{engine="0",model_name="motif-2.6b"} 340.0
vllm:prefix_cache_queries_total{engine="0",model_name="motif-2.6b"} 640.0
vllm:prefix_cache_hits_total{engine="0",model_name="motif-2.6b"} 320.0
vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="motif-2.6b"} 0.0
`;

// V0-era names (vLLM 0.10.x on the V0 engine): KV usage as gpu_cache_usage_perc, no prefix-cache counters.
const V0 = `vllm:num_requests_running{model_name="m"} 1
vllm:num_requests_waiting{model_name="m"} 0
vllm:gpu_cache_usage_perc{model_name="m"} 0.5
vllm:prompt_tokens_total{model_name="m"} 10
vllm:generation_tokens_total{model_name="m"} 20
`;

describe('vllm /metrics', () => {
  it.each([
    {
      name: 'current names',
      text: CURRENT,
      want: { running: 3, waiting: 2, kvUsage: 0.25, promptTokensTotal: 1200, generationTokensTotal: 340, prefixCacheQueries: 640, prefixCacheHits: 320 },
    },
    {
      name: 'V0 names',
      text: V0,
      want: { running: 1, waiting: 0, kvUsage: 0.5, promptTokensTotal: 10, generationTokensTotal: 20, prefixCacheQueries: 0, prefixCacheHits: 0 },
    },
    {
      name: 'two engines: summed',
      text: 'vllm:num_requests_running{engine="0"} 2\nvllm:num_requests_running{engine="1"} 5\n',
      want: { running: 7, waiting: 0, kvUsage: 0 },
    },
    { name: 'usage over 1 from rounding: clamped', text: 'vllm:kv_cache_usage_perc 1.0000001\n', want: { kvUsage: 1 } },
    { name: 'garbage and NaN: ignored', text: 'not a metric line {\nvllm:num_requests_running NaN\n', want: { running: 0 } },
  ])('reads $name', ({ text, want }) => {
    expect(readVllmSample(text)).toMatchObject(want);
  });

  it('parses label values with spaces and sums families', () => {
    expect(parsePrometheusText('a{x="1 2"} 3\na{x="3"} 4\n# comment\nb 1e3\n')).toEqual(
      new Map([
        ['a', 7],
        ['b', 1000],
      ]),
    );
  });

  it('keeps totals monotonic across restarts, announced or not', () => {
    const carry = createCounterCarry();
    const c = (n: number) => ({ promptTokensTotal: n, generationTokensTotal: n * 2, prefixCacheQueries: 0, prefixCacheHits: 0 });
    expect(carry.observe(c(10)).promptTokensTotal).toBe(10);
    expect(carry.observe(c(15)).promptTokensTotal).toBe(15);
    carry.restarted();
    expect(carry.observe(c(4))).toMatchObject({ promptTokensTotal: 19, generationTokensTotal: 38 });
    // A restart nobody announced: the counters went backwards.
    expect(carry.observe(c(1))).toMatchObject({ promptTokensTotal: 20, generationTokensTotal: 40 });
  });

  it.each([
    { name: 'first scrape', prev: undefined, now: { atMs: 1000, generated: 50 }, want: 0 },
    { name: '100 tokens in 2 s', prev: { atMs: 1000, generated: 50 }, now: { atMs: 3000, generated: 150 }, want: 50 },
    { name: 'counter reset', prev: { atMs: 1000, generated: 50 }, now: { atMs: 2000, generated: 10 }, want: 0 },
    { name: 'no time passed', prev: { atMs: 1000, generated: 50 }, now: { atMs: 1000, generated: 60 }, want: 0 },
  ])('tokens per second: $name', ({ prev, now, want }) => {
    expect(tokensPerSecond(prev, now)).toBe(want);
  });

  it('maps a sample into engine stats; no sample (server down) reads idle', () => {
    const totals = { promptTokensTotal: 5, generationTokensTotal: 6, prefixCacheQueries: 0, prefixCacheHits: 0 };
    expect(toEngineStats(readVllmSample(CURRENT), totals, 16, 12)).toEqual({
      waiting: 2,
      running: 3,
      maxRunning: 16,
      kvUsage: 0.25,
      tokensPerSecond: 12,
      ...totals,
    });
    expect(toEngineStats(undefined, totals, 16, 0)).toMatchObject({ waiting: 0, running: 0, kvUsage: 0, promptTokensTotal: 5 });
  });
});
