/**
 * How limit decisions look on the wire: OpenAI's `x-ratelimit-{limit,remaining,reset}-
 * {requests,tokens}` headers (set on every inference response, refusals included) and their
 * duration format.
 */
import type { LimitDecision, RateWindow } from '../../ports.ts';

/** The OpenAI-style rate limit headers for a decision. */
export function rateLimitHeaders(d: Pick<LimitDecision, 'requests' | 'tokens'>): Record<string, string> {
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
