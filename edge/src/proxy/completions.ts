/**
 * `POST /v1/chat/completions` and `POST /v1/completions`: validate the body against the public
 * schema, admit it by limits, answer it from the response cache when it can (cached-completions.ts:
 * a hit returns here, a miss is captured on its way back), resolve the model in the pool, rank
 * replicas (refusing a prompt too long for any of them before it is forwarded), sign and forward
 * (with failover before the first byte), then relay: SSE as it arrives, or the JSON answer.
 * Errors from the origin are mapped to OpenAI error JSON through the one ApiError path.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError, fromZodError, parseErrorBody } from '#shared/errors.ts';
import { ChatCompletionRequest, CompletionRequest, Usage } from '#shared/openai.ts';
import { promptText } from '#shared/prompt-size.ts';
import { HEADERS, HEARTBEAT_TTL_MS } from '#shared/protocol.ts';
import { parseJson, readBodyLimited } from '#shared/request-body.ts';
import { SSE_HEADERS } from '#shared/sse.ts';
import type { EdgeEnv } from '../context.ts';
import { endToEndHeaders } from '../http/headers.ts';
import type { Admission } from '../middleware/limits/admission.ts';
import type { Clock, PoolEntry, PoolView } from '../ports.ts';
import type { InflightTracker } from '../routing/inflight.ts';
import { type Scheduler, toCandidates } from '../routing/scheduler.ts';
import { type RouteRequest, SESSION_HEADER } from '../routing/types.ts';
import { type CacheStep, type ResponseCache, servingRevisions } from './cached-completions.ts';
import { startLifetime } from './lifetime.ts';
import { relaySse } from './sse-relay.ts';
import { type OriginHeaders, sendWithFailover, type UpstreamDeps } from './upstream.ts';

export type Endpoint = 'chat.completions' | 'completions';

const ENDPOINTS = {
  'chat.completions': { path: '/v1/chat/completions', schema: ChatCompletionRequest },
  completions: { path: '/v1/completions', schema: CompletionRequest },
} as const;

export interface CompletionsDeps extends Omit<UpstreamDeps, 'now' | 'inflight'> {
  pool: PoolView;
  clock: Clock;
  scheduler: Scheduler;
  inflight: InflightTracker;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** Limits: admits the parsed request under a lease that the end of the response settles. */
  limits: Admission;
  /** The response cache step (cached-completions.ts); absent = off, every answer `x-cache: BYPASS`. */
  cache?: ResponseCache;
}

const NO_CACHE: CacheStep = { kind: 'forward', xCache: 'BYPASS' };

/** The request's session for session affinity, capped like the body's `user`. */
const session = (id: string | undefined) => (id ? { session: id.slice(0, 256) } : {});

/** Statuses from the origin that describe the edge↔origin link, not the client's request. */
const LINK_ERRORS = new Set([401, 403, 409]);

/** The route handler for one endpoint. */
export function completionsHandler(deps: CompletionsDeps, endpoint: Endpoint) {
  const { schema } = ENDPOINTS[endpoint];
  const serve = serveCompletion(deps, endpoint);
  return async function completions(c: Context<EdgeEnv>): Promise<Response> {
    let parsed: ReturnType<typeof schema.safeParse>;
    try {
      parsed = schema.safeParse(parseJson(await readBodyLimited(c.req.raw, deps.maxBodyBytes)));
      if (!parsed.success) throw fromZodError(parsed.error);
    } catch (err) {
      await deps.limits.annotate(c); // refused before admission, still with the rate-limit headers
      throw err;
    }
    return serve(c, parsed.data);
  };
}

/**
 * Serve a validated request from admission on (limits, cache, routing, forwarding, relay): the
 * handler above after parsing, and what other APIs translated onto chat (`/v1/responses`) call.
 */
export function serveCompletion(deps: CompletionsDeps, endpoint: Endpoint) {
  const { path } = ENDPOINTS[endpoint];
  const upstreamDeps: UpstreamDeps = { ...deps, now: () => deps.clock.now() };
  return async function serve(c: Context<EdgeEnv>, request: ChatCompletionRequest | CompletionRequest): Promise<Response> {
    const body: Record<string, unknown> = { ...request };
    const stream = request.stream === true;
    const clientWantsUsage = stream && request.stream_options?.include_usage === true;
    // The origin is asked for usage on every stream: it is how the edge reconciles limits.
    if (stream) body.stream_options = { ...request.stream_options, include_usage: true };

    // One pass over the prompt serves the reservation and the routing.
    const prompt = promptText(request);
    const lease = await deps.limits.admit(c, request, prompt);
    const now = deps.clock.now();
    const principal = c.get('principal');
    const requestId = c.get('upstreamRequestId');
    const route: RouteRequest = { model: request.model, prompt, ...session(c.req.header(SESSION_HEADER) || request.user) };
    let ranked;
    let cached = NO_CACHE;
    try {
      const entries = await deps.pool.list(now);
      if (deps.cache) {
        const revisions = servingRevisions(entries, request.model, now, deps.scheduler.inRotation);
        cached = await deps.cache.step(c, endpoint, request, lease, revisions);
        if (cached.kind === 'hit') return cached.response;
      }
      ranked = rankFor(deps, route, entries, now);
    } catch (err) {
      lease.finish(0); // nothing was forwarded: the reservation is refunded (a no-op after a hit settled it)
      if (cached.kind === 'forward') cached.capture?.fail();
      throw err;
    }
    const capture = cached.kind === 'forward' ? cached.capture : undefined;
    const xCache = cached.kind === 'forward' ? cached.xCache : 'BYPASS';
    const life = startLifetime(c.req.raw.signal, now, deps.requestTimeoutMs);

    let up;
    try {
      up = await sendWithFailover(
        ranked,
        {
          path,
          body: JSON.stringify(body),
          requestId,
          tenantId: principal.tenantId,
          keyId: principal.keyId,
          stream,
          headers: stream && !clientWantsUsage ? { [HEADERS.clientWantsUsage]: '0' } : {},
        },
        life,
        upstreamDeps,
      );
    } catch (err) {
      // A client gone or a deadline passed may have left an origin generating: its usage record
      // settles the lease. Otherwise no origin accepted the request and nothing is charged.
      lease.finish(life.reason() ? null : 0);
      life.dispose();
      capture?.fail();
      throw err;
    }
    const { res, replica, release } = up;
    const finish = () => {
      release();
      life.dispose();
    };

    if (!res.ok) {
      const text = await res.text().catch(() => '');
      finish();
      lease.finish(0); // refused by the origin before generating
      capture?.fail();
      if (LINK_ERRORS.has(res.status)) {
        deps.log('origin refused the edge (check the shared signing secret and clocks)', { replica: replica.id, status: res.status, body: text.slice(0, 300) });
        throw new ApiError('origin_error', 'The origin refused the request.');
      }
      throw parseErrorBody(res.status, text);
    }
    deps.scheduler.observe(route, replica.id);

    const isSse = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
    if (stream && isSse && res.body) {
      let streamed: Usage | undefined;
      let firstToken = false;
      const out = relaySse(res.body, {
        clientWantsUsage,
        onUsage: (u) => {
          streamed = u;
        },
        onChunk: (chunk) => {
          if (!firstToken && carriesOutput(chunk)) {
            firstToken = true;
            release.started();
          }
          capture?.chunk(chunk);
        },
        abortOrigin: (reason) => life.abort(reason),
        failureReason: () => life.reason(),
        onEnd: (outcome, err) => {
          finish();
          capture?.streamEnd(outcome === 'done', replica.revision);
          // Without the usage chunk (client gone, origin failed) the origin's usage record settles it.
          lease.finish(streamed ? streamed.total_tokens : null);
          if (outcome === 'origin-error' || outcome === 'truncated') {
            deps.log('origin stream failed after the first byte', {
              replica: replica.id,
              requestId,
              outcome,
              error: err === undefined ? undefined : String(err),
            });
          }
        },
      });
      return c.body(out, 200, { ...SSE_HEADERS, 'x-cache': xCache });
    }

    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      lease.finish(null);
      capture?.fail();
      throw life.reason() ?? new ApiError('origin_error', 'The origin failed while sending the response.', { cause: err });
    } finally {
      finish();
    }
    capture?.json(res.status, text, replica.revision);
    const usage = readUsage(text);
    lease.finish(usage ? usage.total_tokens : null);
    const headers = passHeaders(res.headers);
    headers['x-cache'] = xCache;
    return c.body(text, res.status as ContentfulStatusCode, headers);
  };
}

/**
 * Candidates for a request, best first: 404 if no replica in the pool ever served its model, 503
 * if none is ready or every ready one's circuit is open, 400 if none in rotation could fit its prompt (the scheduler's refusal). A pool
 * that knows no replica at all cannot tell that a model does not exist (the Node edge keeps it in
 * memory, so a restarted edge knows none until the first heartbeat): 503 then, which clients
 * retry, not a 404, which they do not.
 */
function rankFor(deps: CompletionsDeps, req: RouteRequest, entries: PoolEntry[], now: number) {
  const { model } = req;
  if (entries.length === 0) throw noReplica(model);
  if (!entries.some((e) => e.heartbeat.model === model)) {
    throw new ApiError('model_not_found', `The model \`${model}\` does not exist or you do not have access to it.`, { param: 'model' });
  }
  const ranked = deps.scheduler.rank(req, toCandidates(entries, now, deps.inflight.get, deps.breaker.waitMs, deps.inflight.awaiting));
  if (ranked.length === 0) throw noReplica(model);
  return ranked;
}

const noReplica = (model: string) =>
  new ApiError('origin_unavailable', `No replica of \`${model}\` is ready right now. Please retry.`, { retryAfter: Math.ceil(HEARTBEAT_TTL_MS / 1000) });

function readUsage(text: string): Usage | undefined {
  try {
    const body: unknown = JSON.parse(text);
    const u = typeof body === 'object' && body !== null ? Usage.safeParse((body as { usage?: unknown }).usage) : undefined;
    return u?.success ? u.data : undefined;
  } catch {
    return undefined;
  }
}

/** Origin headers for the client, minus ones the edge owns (request id, rate limits). */
function passHeaders(from: OriginHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of endToEndHeaders(from)) {
    if (k === HEADERS.requestId || k.startsWith('x-ratelimit-') || k === 'date' || k === 'server') continue;
    out[k] = v;
  }
  return out;
}

/**
 * Whether a stream chunk carries generated output (text or a finish), not only the role chunk an
 * origin sends when the request is admitted: the first one marks the end of the prefill.
 */
function carriesOutput(chunk: Record<string, unknown>): boolean {
  const choices = chunk.choices;
  if (!Array.isArray(choices)) return false;
  return choices.some((c: { delta?: { content?: unknown }; text?: unknown; finish_reason?: unknown }) =>
    Boolean(c?.delta?.content || c?.text || c?.finish_reason),
  );
}
