/**
 * A retry budget for failover: over a sliding window, retries may be at most `ratio` of the
 * requests (first attempts) plus a small floor, so a quiet edge can still fail over while a pool
 * that fails everything sees at most (1 + ratio) times its normal traffic, not `maxAttempts`
 * times (no retry storm). The window is a ring of buckets, so memory is fixed. Like the circuit
 * breaker, the count is this edge's (per process on Node, per isolate on Workers).
 */

export interface RetryBudgetOptions {
  /** Retries allowed per first attempt in the window (default 0.2). */
  ratio?: number;
  /** Retries allowed in any window regardless of traffic (default 10). */
  minRetries?: number;
  /** Window length in ms (default 10 s). */
  windowMs?: number;
  /** Buckets the window slides by (default 10: one second each with the default window). */
  buckets?: number;
}

export interface RetryBudget {
  /** Count a request's first attempt. */
  recordRequest(): void;
  /** Spend one retry if the budget has one; false when exhausted. */
  tryRetry(): boolean;
  /** Ms until the window next slides: the earliest a spent budget can gain room. */
  retryAfterMs(): number;
}

interface Bucket {
  /** Which bucket of time (floor(now / bucketMs)) the counts belong to. */
  slot: number;
  requests: number;
  retries: number;
}

/** Create a budget on the clock `now` (epoch ms); throws on invalid options. */
export function retryBudget(opts: RetryBudgetOptions, now: () => number): RetryBudget {
  const ratio = opts.ratio ?? 0.2;
  const minRetries = opts.minRetries ?? 10;
  const windowMs = opts.windowMs ?? 10_000;
  const n = opts.buckets ?? 10;
  if (!(ratio >= 0 && ratio <= 1)) throw new Error('retryBudget: ratio must be within [0, 1]');
  if (!Number.isInteger(minRetries) || minRetries < 0) throw new Error('retryBudget: minRetries must be a non-negative integer');
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error('retryBudget: buckets must be an integer within [1, 1000]');
  if (!Number.isInteger(windowMs) || windowMs < n) throw new Error('retryBudget: windowMs must be an integer of at least one ms per bucket');
  const bucketMs = windowMs / n;
  const ring: Bucket[] = Array.from({ length: n }, () => ({ slot: -Infinity, requests: 0, retries: 0 }));

  function current(): Bucket {
    const slot = Math.floor(now() / bucketMs);
    const b = ring[((slot % n) + n) % n]!;
    if (b.slot !== slot) {
      b.slot = slot;
      b.requests = 0;
      b.retries = 0;
    }
    return b;
  }

  function totals(): { requests: number; retries: number } {
    const slot = Math.floor(now() / bucketMs);
    let requests = 0;
    let retries = 0;
    for (const b of ring) {
      if (b.slot > slot - n && b.slot <= slot) {
        requests += b.requests;
        retries += b.retries;
      }
    }
    return { requests, retries };
  }

  return {
    recordRequest() {
      current().requests += 1;
    },
    tryRetry() {
      const { requests, retries } = totals();
      if (retries + 1 > requests * ratio + minRetries) return false;
      current().retries += 1;
      return true;
    },
    retryAfterMs: () => bucketMs - (now() % bucketMs),
  };
}
