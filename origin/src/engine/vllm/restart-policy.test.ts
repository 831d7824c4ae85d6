import { describe, expect, it } from 'vitest';
import { createRestartBackoff, RestartPolicySchema } from './restart-policy.ts';

describe('restart backoff', () => {
  it.each([
    { name: 'crash loop: doubles up to the cap', uptimes: [0, 0, 0, 0, 0, 0, 0], delays: [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000] },
    { name: 'short runs still count as a loop', uptimes: [5_000, 5_000, 5_000], delays: [1_000, 2_000, 4_000] },
    { name: 'a stable run starts over', uptimes: [0, 0, 0, 120_000, 0], delays: [1_000, 2_000, 4_000, 1_000, 2_000] },
  ])('$name', ({ uptimes, delays }) => {
    const b = createRestartBackoff(RestartPolicySchema.parse({}));
    expect(uptimes.map((u) => b.nextDelayMs(u))).toEqual(delays);
    expect(b.attempts).toBeGreaterThan(0);
  });

  it('honours a configured base and cap', () => {
    const b = createRestartBackoff(RestartPolicySchema.parse({ baseMs: 50, maxMs: 120, stableMs: 10 }));
    expect([0, 0, 0, 0].map((u) => b.nextDelayMs(u))).toEqual([50, 100, 120, 120]);
  });

  it('refuses a negative delay', () => {
    expect(() => RestartPolicySchema.parse({ baseMs: -1 })).toThrow();
  });
});
