import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { isRetryable } from './object-store.ts';
import { backoffMs, RetryPolicy, withRetry } from './retry.ts';

const policy = RetryPolicy.parse({ attempts: 4, baseMs: 100, maxMs: 250 });

function fakeDeps() {
  const sleeps: number[] = [];
  return { sleeps, deps: { sleep: async (ms: number) => void sleeps.push(ms), random: () => 0.999 } };
}

describe('retry with backoff and full jitter', () => {
  it.each([
    [0, 99],
    [1, 199],
    [2, 249],
    [5, 249],
  ])('retry %i waits below min(max, base·2^n) → %i', (n, expected) => {
    expect(backoffMs(policy, n, () => 0.999)).toBe(expected);
    expect(backoffMs(policy, n, () => 0)).toBe(0);
  });

  it('retries transient errors until success', async () => {
    const { sleeps, deps } = fakeDeps();
    let calls = 0;
    const r = await withRetry(
      async () => {
        if (++calls < 3) throw new ApiError('origin_unavailable', 'flaky');
        return 'ok';
      },
      { policy, deps, isRetryable },
    );
    expect(r).toBe('ok');
    expect(calls).toBe(3);
    expect(sleeps).toEqual([99, 199]);
  });

  it('gives up after the last attempt with the last error', async () => {
    const { deps } = fakeDeps();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new ApiError('origin_unavailable', `fail ${calls}`);
        },
        { policy, deps, isRetryable },
      ),
    ).rejects.toThrow('fail 4');
    expect(calls).toBe(4);
  });

  it.each([['not_found'], ['conflict'], ['permission_denied']] as const)('does not retry %s', async (code) => {
    const { deps } = fakeDeps();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new ApiError(code, 'no');
        },
        { policy, deps, isRetryable },
      ),
    ).rejects.toMatchObject({ code });
    expect(calls).toBe(1);
  });
});
