import { describe, expect, it } from 'vitest';
import { createHistogram, family } from './prometheus-text.ts';

describe('prometheus text', () => {
  it('renders a family with escaped labels', () => {
    expect(family('x_total', 'counter', 'Things.', [[{ model_name: 'a"b' }, 3]])).toBe(
      '# HELP x_total Things.\n# TYPE x_total counter\nx_total{model_name="a\\"b"} 3',
    );
  });

  it('renders a histogram with cumulative buckets, +Inf, sum and count', () => {
    const h = createHistogram([0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v);
    expect(h.render('ttft_seconds', 'TTFT.', { m: 'x' }).split('\n')).toEqual([
      '# HELP ttft_seconds TTFT.',
      '# TYPE ttft_seconds histogram',
      'ttft_seconds_bucket{m="x",le="0.1"} 2',
      'ttft_seconds_bucket{m="x",le="1"} 3',
      'ttft_seconds_bucket{m="x",le="+Inf"} 4',
      'ttft_seconds_sum{m="x"} 3.65',
      'ttft_seconds_count{m="x"} 4',
    ]);
  });

  it.each([[[1, 1]], [[2, 1]], [[Number.POSITIVE_INFINITY]]])('refuses bounds %j', (bounds) => {
    expect(() => createHistogram(bounds)).toThrow(RangeError);
  });
});
