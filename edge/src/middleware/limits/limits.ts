/**
 * The limits room: admit or refuse a request per tenant through the Limiter port, render
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` on every response (as OpenAI does) and
 * 429 + `retry-after` when refused. Tokens are reconciled afterwards: the proxy reports the
 * origin's usage through `c.var.reportUsage`, which charges the tenant's token budget.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '#shared/errors.ts';
import type { EdgeEnv } from '../../context.ts';
import type { Clock, LimitDecision, Limiter, RateWindow } from '../../ports.ts';

export interface LimitsOptions {
  limiter: Limiter;
  clock: Clock;
  /** Called when charging usage fails (the response is already on its way; log, don't throw). */
  onChargeError?: (err: unknown) => void;
}

/** Middleware factory; validates its options at creation. Requires auth to run first. */
export function limits(opts: LimitsOptions): MiddlewareHandler<EdgeEnv> {
  if (!opts.limiter || typeof opts.limiter.admit !== 'function') throw new Error('limits: limiter is required');
  if (!opts.clock) throw new Error('limits: clock is required');
  const onChargeError = opts.onChargeError ?? (() => {});
  return async function limitsMiddleware(c, next) {
    const principal = c.get('principal');
    if (!principal) throw new Error('limits: must run after authentication');
    const subject = principal.tenantId;
    const decision = await opts.limiter.admit(subject, opts.clock.now());
    for (const [k, v] of Object.entries(rateLimitHeaders(decision))) c.header(k, v);
    if (!decision.allowed) {
      const what = decision.requests && decision.requests.remaining === 0 ? 'requests' : 'tokens';
      throw new ApiError('rate_limit_exceeded', `Rate limit reached for ${what} per minute. Please try again in ${formatDuration(decision.retryAfterMs)}.`, {
        retryAfter: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
      });
    }
    c.set('reportUsage', (usage) => {
      opts.limiter.charge(subject, usage.total_tokens, opts.clock.now()).catch(onChargeError);
    });
    await next();
  };
}

/** The OpenAI-style rate limit headers for a decision. */
export function rateLimitHeaders(d: LimitDecision): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (w: RateWindow | null, kind: 'requests' | 'tokens') => {
    if (!w) return;
    out[`x-ratelimit-limit-${kind}`] = String(w.limit);
    out[`x-ratelimit-remaining-${kind}`] = String(w.remaining);
    out[`x-ratelimit-reset-${kind}`] = formatDuration(w.resetMs);
  };
  put(d.requests, 'requests');
  put(d.tokens, 'tokens');
  return out;
}

/** Durations as OpenAI writes them in reset headers: `20ms`, `1.5s`, `6m0s`. */
export function formatDuration(ms: number): string {
  const v = Math.max(0, Math.ceil(ms));
  if (v < 1000) return `${v}ms`;
  if (v < 60_000) return `${Number((v / 1000).toFixed(3))}s`;
  const m = Math.floor(v / 60_000);
  return `${m}m${Math.floor((v - m * 60_000) / 1000)}s`;
}
