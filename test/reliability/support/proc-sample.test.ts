import { describe, expect, it } from 'vitest';
import { slopePerMinute } from './proc-sample.ts';

const series = (f: (minute: number) => number, minutes = 8, perMinute = 12) =>
  Array.from({ length: minutes * perMinute + 1 }, (_, i) => ({ t: (i * 60_000) / perMinute, v: f(i / perMinute) }));

describe('slopePerMinute (Theil–Sen)', () => {
  it('finds a steady trend', () => {
    expect(slopePerMinute(series((m) => 200 + 3 * m))).toBeCloseTo(3, 6);
  });

  it('is not moved by a one-time step early in the window, where least squares would be', () => {
    const stepped = series((m) => (m < 1.5 ? 230 : 280));
    expect(slopePerMinute(stepped)).toBe(0);
  });

  it('is 0 for fewer than two samples', () => {
    expect(slopePerMinute([{ t: 0, v: 5 }])).toBe(0);
  });
});
