/**
 * Generated tokens per second over a sliding window of recent steps, for stats and retry-after
 * estimates. Pure: the caller passes the clock's readings.
 */
export class TokenRate {
  // (time, generated tokens) per recent step, oldest first.
  readonly #recent: { t: number; n: number }[] = [];

  constructor(
    private readonly windowMs = 10_000,
    private readonly maxSteps = 10_000,
  ) {}

  /** A step at time `t` (ms) generated `n` tokens. */
  record(t: number, n: number): void {
    this.#recent.push({ t, n });
    if (this.#recent.length > this.maxSteps) this.#recent.splice(0, this.#recent.length - this.maxSteps);
  }

  /** Tokens per second at time `now` over the window (at least one second, so a lone step is not a spike). */
  perSecond(now: number): number {
    const r = this.#recent;
    while (r.length > 0 && now - r[0]!.t > this.windowMs) r.shift();
    const n = r.reduce((a, x) => a + x.n, 0);
    const span = r.length > 0 ? Math.max(1_000, now - r[0]!.t) : this.windowMs;
    return (n * 1000) / span;
  }
}

/**
 * Seconds a client turned away as overloaded should wait: the queue's outstanding completion
 * tokens at the current rate, 1–60 s (1 s when nothing has been generated yet).
 */
export function retryAfterSeconds(backlogTokens: number, tokensPerSecond: number): number {
  return tokensPerSecond > 0 ? Math.min(60, Math.max(1, Math.ceil(backlogTokens / tokensPerSecond))) : 1;
}
