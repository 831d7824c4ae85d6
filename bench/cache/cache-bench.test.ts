/**
 * bench:cache's pure parts on hand-made numbers (a `--quick` run of the real processes is in
 * test/integration/bench-cache.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { sseDataOf } from './client.ts';
import { coalesceTable, counterSum, floorLine, latencyTable, summarize, verdict } from './stats.ts';

const phase = (miss: number[], hit: number[], tokens = 128, stream = false) => ({
  label: 'non-stream',
  tokens,
  stream,
  miss: summarize(miss),
  hit: summarize(hit),
});

describe('bench:cache tables', () => {
  it('prints p50/p99 of misses and hits with their ratios', () => {
    const lines = latencyTable([phase([100, 120, 300], [2, 4, 5])]);
    expect(lines[0]).toContain('p50 ratio');
    expect(lines[1]).toMatch(/non-stream\s+3\s+120\.00\s+4\.00\s+30\.0×\s+300\.00\s+5\.00\s+60\.0×/);
  });

  it('prints the edge floor beside the hits', () => {
    expect(floorLine(summarize([2, 3, 9]), [phase([50], [3.5], 32), phase([90], [4], 128, true)])).toBe(
      "edge floor (auth + limits + pool, no origin: an unknown model's 404): p50 3.00 ms, p99 9.00 ms; non-stream hit p50 3.50 ms at 32 tokens",
    );
  });

  it('prints the coalescing runs', () => {
    const lines = coalesceTable([{ k: 50, originCalls: 1, misses: 1, hits: 49, bad: 0, wallMs: 812.5 }]);
    expect(lines[1]).toMatch(/50\s+1\s+1\s+49\s+0\s+812\.50/);
  });

  it.each([
    [
      'met',
      [100],
      [5],
      'cache: hit p50 faster than miss 3.0× at 32 tokens, 20.0× at 128 tokens (target ≥ 10× at every length: NOT met), K=50 concurrent → 1 origin call',
    ],
    [
      'not met',
      [100],
      [20],
      'cache: hit p50 faster than miss 3.0× at 32 tokens, 5.0× at 128 tokens (target ≥ 10× at every length: NOT met), K=50 concurrent → 1 origin call',
    ],
  ])('verdict: %s (stream phases are not in it)', (_name, miss, hit, line) => {
    const runs = [1, 50].map((k) => ({ k, originCalls: 1, misses: 1, hits: k - 1, bad: 0, wallMs: 1 }));
    expect(verdict([phase([30], [10], 32), phase(miss, hit), phase([1], [1], 128, true)], runs)).toBe(line);
  });

  it('verdict: met when every length is at least 10× faster', () => {
    const runs = [{ k: 50, originCalls: 1, misses: 1, hits: 49, bad: 0, wallMs: 1 }];
    expect(verdict([phase([30], [3], 32), phase([100], [5])], runs)).toBe(
      'cache: hit p50 faster than miss 10.0× at 32 tokens, 20.0× at 128 tokens (target ≥ 10× at every length: met), K=50 concurrent → 1 origin call',
    );
  });
});

describe('counterSum', () => {
  it('sums every label set of one counter and nothing else', () => {
    const text = [
      '# TYPE motif_origin_requests_total counter',
      'motif_origin_requests_total{endpoint="chat",status="200"} 7',
      'motif_origin_requests_total{endpoint="chat",status="400"} 2',
      'motif_origin_requests_total_other 100',
      'other_total 5',
    ].join('\n');
    expect(counterSum(text, 'motif_origin_requests_total')).toBe(9);
    expect(counterSum('motif_x 3', 'motif_x')).toBe(3);
  });
});

describe('sseDataOf', () => {
  it('returns each event’s data in order, multi-line data joined', () => {
    expect(sseDataOf('data: {"a":1}\n\n: comment\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n')).toEqual(['{"a":1}', 'x\ny', '[DONE]']);
  });
});
