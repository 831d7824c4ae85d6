/**
 * When to try a revision again after a failed update. A failure may be passing (S3 hiccup, the
 * node's swap lock taken) or permanent (corrupt upload, a checkpoint the engine rejects); each
 * attempt re-downloads what did not verify, so retries back off: the next poll tries again, then
 * 1, 3, 7 … polls are skipped (up to `maxSkip`). Counted in polls, not time, so the cadence
 * follows the configured poll interval and needs no clock. A different revision starts afresh.
 */

export interface RetryGate {
  /** True when an offer of `revision` should be attempted now; a refused offer counts as skipped. */
  admit(revision: string): boolean;
  /** Record a failed attempt. */
  failed(revision: string): void;
  /** Record success (clears the backoff). */
  succeeded(revision: string): void;
  /** Consecutive failed attempts of `revision`. */
  failures(revision: string): number;
}

/** A gate that skips at most `maxSkip` polls between attempts of a failing revision. */
export function createRetryGate(opts: { maxSkip?: number } = {}): RetryGate {
  const maxSkip = opts.maxSkip ?? 32;
  if (!Number.isInteger(maxSkip) || maxSkip < 0) throw new Error('retry gate: maxSkip must be an integer ≥ 0');
  // Only the newest revision matters: the ref moved on means older failures are moot.
  let entry: { revision: string; failures: number; skip: number } | undefined;

  return {
    admit(revision) {
      if (entry?.revision !== revision || entry.skip === 0) return true;
      entry.skip--;
      return false;
    },
    failed(revision) {
      const failures = entry?.revision === revision ? entry.failures + 1 : 1;
      entry = { revision, failures, skip: Math.min(maxSkip, 2 ** Math.min(failures - 1, 30) - 1) };
    },
    succeeded(revision) {
      if (entry?.revision === revision) entry = undefined;
    },
    failures: (revision) => (entry?.revision === revision ? entry.failures : 0),
  };
}
