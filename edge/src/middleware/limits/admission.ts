/**
 * Admission of one completion request, called by the completions handler once the body is parsed
 * (the reservation needs the prompt and `max_tokens`): resolve the principal's limits, reserve
 * tokens under a lease named by the upstream request id, put the `x-ratelimit-*` headers on the
 * response (refusals included) and refuse with 429: `rate_limit_exceeded` + `retry-after` for a
 * rate or the concurrency cap, `insufficient_quota` (no retry-after) for the monthly quota.
 *
 * When the limiter store is unavailable the request is refused with a retryable 503
 * `storage_unavailable` (fail closed: limits and quotas are what a metered service sells, and a
 * store outage must not become free unlimited use). `failOpen` admits instead, without limits,
 * and logs every such admission: for appliances that prefer availability.
 */
import type { Context } from 'hono';
import { ApiError } from '#shared/errors.ts';
import { type ChatCompletionRequest, type CompletionRequest, requestedMaxTokens } from '#shared/openai.ts';
import { type PromptText, promptText, utf8Length } from '#shared/prompt-size.ts';
import type { EdgeEnv } from '../../context.ts';
import type { Clock, LimitDecision, Limiter } from '../../ports.ts';
import { formatDuration, rateLimitHeaders } from './limits.ts';
import { estimatePromptTokens, LimitDefaults, reservation, resolveLimits } from './policy.ts';

/** A lease not finished or reconciled by then (edge crashed, usage lost) frees its slot, charged. */
const LEASE_GRACE_MS = 120_000;

export interface AdmissionOptions {
  limiter: Limiter;
  clock: Clock;
  /** Defaults for limits the tenant and key records leave null. */
  defaults?: Partial<LimitDefaults>;
  /** Admit without limits when the limiter store fails (default false: refuse with 503). */
  failOpen?: boolean;
  requestTimeoutMs: number;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

/** A held admission: end it exactly once, with the tokens used when the response showed them. */
export interface AdmissionLease {
  finish(usedTokens: number | null): void;
}

const UNLIMITED: AdmissionLease = { finish() {} };

/** Build the admission step; checks its options at construction. */
export function admission(opts: AdmissionOptions) {
  if (!opts.limiter || typeof opts.limiter.admit !== 'function') throw new Error('admission: limiter is required');
  if (!opts.clock) throw new Error('admission: clock is required');
  const defaults = LimitDefaults.parse(opts.defaults ?? {});
  const failOpen = opts.failOpen === true;

  /** Put the current windows on a response refused before admission (bad body); best effort. */
  async function annotate(c: Context<EdgeEnv>): Promise<void> {
    const principal = c.get('principal');
    try {
      const w = await opts.limiter.windows(principal.tenantId, principal.keyId, resolveLimits(principal.limits, defaults), opts.clock.now());
      for (const [k, v] of Object.entries(rateLimitHeaders(w))) c.header(k, v);
    } catch {
      // The request is refused anyway; a store failure here must not change its error.
    }
  }

  async function admit(
    c: Context<EdgeEnv>,
    req: ChatCompletionRequest | CompletionRequest,
    prompt: PromptText | undefined = promptText(req),
  ): Promise<AdmissionLease> {
    const principal = c.get('principal');
    const leaseId = c.get('upstreamRequestId');
    const limits = resolveLimits(principal.limits, defaults);
    const reserveTokens = reservation(promptTokens(req, prompt), requestedMaxTokens(req), defaults.maxContextTokens, limits);
    const now = opts.clock.now();
    let decision: LimitDecision;
    try {
      decision = await opts.limiter.admit({
        leaseId,
        tenantId: principal.tenantId,
        keyId: principal.keyId,
        limits,
        reserveTokens,
        now,
        expiresAt: now + opts.requestTimeoutMs + LEASE_GRACE_MS,
      });
    } catch (err) {
      if (failOpen) {
        opts.log('LIMITER UNAVAILABLE: request admitted without limits (fail-open)', { tenant: principal.tenantId, error: String(err) });
        return UNLIMITED;
      }
      if (err instanceof ApiError && err.code === 'storage_unavailable') throw err;
      throw new ApiError('storage_unavailable', 'The rate limiter is unavailable right now. Please retry.', { retryAfter: 1, cause: err });
    }
    for (const [k, v] of Object.entries(rateLimitHeaders(decision))) c.header(k, v);
    if (!decision.allowed) throw refusal(decision);
    let done = false;
    return {
      finish(used) {
        if (done) return;
        done = true;
        opts.limiter
          .finish(principal.tenantId, leaseId, used, opts.clock.now())
          .catch((err: unknown) => opts.log('releasing a rate-limit lease failed (it expires on its own)', { leaseId, error: String(err) }));
      },
    };
  }

  return { admit, annotate };
}

export type Admission = ReturnType<typeof admission>;

function refusal(d: LimitDecision): ApiError {
  const retryAfter = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
  switch (d.reason) {
    case 'quota':
      return new ApiError(
        'insufficient_quota',
        `You exceeded your monthly token quota: ${d.detail?.used ?? 0} of ${d.detail?.limit ?? 0} tokens are used or reserved by running requests. It renews at the start of the next month (UTC).`,
      );
    case 'concurrency':
      return new ApiError(
        'rate_limit_exceeded',
        `Too many concurrent requests: your limit is ${d.detail?.limit ?? 0} at a time. Please retry when one of them has finished.`,
        { retryAfter },
      );
    default:
      return new ApiError(
        'rate_limit_exceeded',
        `Rate limit reached for ${d.reason ?? 'requests'} per minute. Please try again in ${formatDuration(d.retryAfterMs)}.`,
        {
          retryAfter,
        },
      );
  }
}

/** The prompt's token estimate: from its text, or the ids of a token-id prompt. */
function promptTokens(req: ChatCompletionRequest | CompletionRequest, text: PromptText | undefined): number {
  if (!text) return 'prompt' in req && Array.isArray(req.prompt) ? req.prompt.length : 0;
  let bytes = 0;
  for (const p of text.parts) bytes += utf8Length(p);
  return estimatePromptTokens(bytes, text.parts.length);
}
