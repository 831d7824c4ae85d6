/**
 * When to restart a vLLM server that exited: exponential backoff (base × 2^n, capped), so a server
 * that crashes at once on every start (bad weights, a GPU fault) is not restarted in a tight loop,
 * while one that ran fine for a while before a crash comes back after the base delay. Pure.
 */
import { z } from 'zod';

export const RestartPolicySchema = z.strictObject({
  /** Delay before the first restart, ms. */
  baseMs: z.number().int().min(0).max(600_000).default(1_000),
  /** Longest delay, ms. */
  maxMs: z.number().int().min(0).max(3_600_000).default(60_000),
  /** A server that ran this long before exiting counts as healthy: the backoff starts over. */
  stableMs: z.number().int().min(0).max(86_400_000).default(120_000),
});
export type RestartPolicy = z.infer<typeof RestartPolicySchema>;

export interface RestartBackoff {
  /** A server exited after running `uptimeMs` (or failed to start: 0): wait this long before the next start. */
  nextDelayMs(uptimeMs: number): number;
  /** Restarts in a row so far (reset by a stable run). */
  readonly attempts: number;
}

export function createRestartBackoff(policy: RestartPolicy): RestartBackoff {
  let attempts = 0;
  return {
    get attempts() {
      return attempts;
    },
    nextDelayMs(uptimeMs) {
      if (uptimeMs >= policy.stableMs) attempts = 0;
      const delay = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempts, 30));
      attempts += 1;
      return delay;
    },
  };
}
