/**
 * Retry with exponential backoff and full jitter (pure; sleep and random are injected so tests
 * run instantly). Full jitter spreads the retries of many parallel part downloads that failed
 * together, so they do not hit a recovering endpoint in lockstep.
 */
import { z } from 'zod';

export const RetryPolicy = z.object({
  /** Total attempts including the first. */
  attempts: z.number().int().min(1).max(20).default(6),
  baseMs: z.number().min(0).default(250),
  maxMs: z.number().min(0).default(8_000),
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;

export interface RetryDeps {
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
}

/** Delay before retry number `retry` (0-based): uniform in [0, min(max, base·2^retry)). */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number): number {
  return Math.floor(random() * Math.min(policy.maxMs, policy.baseMs * 2 ** retry));
}

/**
 * Call `fn` until it succeeds, `isRetryable(err)` is false, or attempts run out; the last error
 * is rethrown. `onRetry` sees each failure that will be retried (for metrics and logs).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  o: { policy: RetryPolicy; deps: RetryDeps; isRetryable: (err: unknown) => boolean; onRetry?: (err: unknown, attempt: number) => void; signal?: AbortSignal },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (o.signal?.aborted || attempt + 1 >= o.policy.attempts || !o.isRetryable(err)) throw err;
      o.onRetry?.(err, attempt);
      await o.deps.sleep(backoffMs(o.policy, attempt, o.deps.random), o.signal);
    }
  }
}

/** Real timers: a sleep that an AbortSignal cuts short. */
export const realRetryDeps: RetryDeps = {
  random: Math.random,
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
