/**
 * Sending one request to the origin pool with failover before the first byte (DESIGN §1, §5):
 * walk the scheduler's ranking; a connection error, a 503 (or Cloudflare's 52x for an unreachable
 * origin) or a server error (500, 502, 504) moves on to the next one; success or a client error
 * (4xx) is the answer. When every attempt ended in a server error, the last one is the answer. Once a response is returned, the caller owns it: there is no retry after that point.
 * Each attempt needs a permit from the replica's circuit breaker and reports back to it; each
 * attempt after the first spends from the retry budget, and an exhausted budget ends the walk.
 */

import type { Digests } from '#shared/digests.ts';
import { ApiError } from '#shared/errors.ts';
import { HEADERS } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, type SigningKey, signHeaders } from '#shared/signing.ts';
import type { CircuitBreaker } from '../routing/circuit-breaker.ts';
import { type InflightSlot, type InflightTracker, NO_SLOT } from '../routing/inflight.ts';
import type { Candidate } from '../routing/types.ts';
import type { Lifetime } from './lifetime.ts';
import type { RetryBudget } from './retry-budget.ts';

/** One request to an origin, in plain values: each runtime's client builds its own request from it. */
export interface OriginCall {
  url: URL;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

/**
 * How the edge reaches origins. The default is `fetch` (Workers); the Node root passes a pooled
 * node:http client (adapters/node/origin-fetch.ts), which skips building a WHATWG Request per call.
 */
export type OriginFetch = (call: OriginCall) => Promise<OriginResponse>;

/** Header access the proxy needs; a `Headers` object is one. */
export interface OriginHeaders extends Iterable<[string, string]> {
  get(name: string): string | null;
}

/**
 * What the proxy reads of an origin's answer: a `Response` is one, and the Node client answers
 * a JSON reply with a lighter object that already holds the text.
 */
export interface OriginResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: OriginHeaders;
  /** The body as a stream (SSE), or null once `text()` is the only way to read it. */
  readonly body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
}

/** The default OriginFetch: the runtime's `fetch`. */
export const fetchOrigin: OriginFetch = (call) => fetch(call.url, { method: call.method, headers: call.headers, body: call.body, signal: call.signal });

export interface UpstreamRequest {
  /** Path on the origin, e.g. `/v1/chat/completions`. */
  path: string;
  body: string;
  requestId: string;
  tenantId: string;
  keyId: string;
  stream: boolean;
  /** Extra protocol headers (e.g. `x-motif-client-usage`). */
  headers?: Record<string, string>;
}

export interface UpstreamDeps {
  signingKey: SigningKey;
  digests: Digests;
  originFetch: OriginFetch;
  inflight: InflightTracker;
  /** Per-replica circuits: asked before each attempt, told each attempt's outcome. */
  breaker: CircuitBreaker;
  /** Bounds failover across requests: retries at most a fraction of first attempts. */
  retryBudget: RetryBudget;
  now: () => number;
  maxAttempts: number;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface UpstreamResult {
  res: OriginResponse;
  replica: Candidate;
  /** The replica's in-flight slot: `started()` at the first token, call it once the response is fully handled. */
  release: InflightSlot;
}

/**
 * Statuses that mean "this replica could not take the request" and are safe to retry elsewhere:
 * 503 from an origin (overloaded, draining), and the codes Cloudflare's network answers with when
 * it cannot reach an origin at all (521 down, 522 connect timeout, 523 unreachable, 525/526 TLS,
 * 530 DNS), which is how a connection failure surfaces to a Worker instead of a fetch exception.
 */
export const FAILOVER_STATUSES: ReadonlySet<number> = new Set([503, 521, 522, 523, 525, 526, 530]);

/**
 * Server errors that say this replica failed the request, not that the request is bad: tried on
 * the next replica too, before the first byte. Safe for billing: every replica tried gets the
 * same request id and only one record of it bills (usage/README.md).
 */
export const RETRIED_SERVER_ERRORS: ReadonlySet<number> = new Set([500, 502, 504]);

/** The most of a failed replica's error body kept, to answer with if no other replica does better. */
const MAX_ERROR_BODY_CHARS = 16_384;

/** Join a replica's base URL and a path (keeping a base path, if the replica has one). */
export function targetUrl(base: string, path: string): URL {
  return new URL(base.replace(/\/+$/, '') + path);
}

async function buildCall(replica: Candidate, req: UpstreamRequest, life: Lifetime, deps: UpstreamDeps): Promise<OriginCall> {
  const url = targetUrl(replica.url, req.path);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: req.stream ? 'text/event-stream' : 'application/json',
    ...req.headers,
    [HEADERS.requestId]: req.requestId,
    [HEADERS.tenantId]: req.tenantId,
    [HEADERS.keyId]: req.keyId,
    [HEADERS.deadline]: String(life.deadline),
  };
  headers[SIGNATURE_HEADER] = await signHeaders('POST', url.pathname, headers, req.body, deps.signingKey, deps.now(), deps.digests);
  return { url, method: 'POST', body: req.body, signal: life.signal, headers };
}

/**
 * Send to the best replica, failing over on connect errors and 503s, skipping replicas whose
 * circuit holds requests back; throws 503 when none took it or the retry budget is spent.
 */
export async function sendWithFailover(ranked: Candidate[], req: UpstreamRequest, life: Lifetime, deps: UpstreamDeps): Promise<UpstreamResult> {
  let retryAfter: number | undefined;
  let lastServerError: UpstreamResult | undefined;
  let attempts = 0;
  let circuitWaitMs = Number.POSITIVE_INFINITY;
  deps.retryBudget.recordRequest();
  for (const replica of ranked) {
    if (attempts >= Math.max(1, deps.maxAttempts)) break;
    const permit = deps.breaker.acquire(replica.id);
    if (!permit) {
      // Opened since the ranking, or its one half-open probe is already out.
      circuitWaitMs = Math.min(circuitWaitMs, deps.breaker.waitMs(replica.id));
      continue;
    }
    if (attempts > 0 && !deps.retryBudget.tryRetry()) {
      permit.release();
      deps.log('retry budget exhausted, not failing over', { replica: replica.id, requestId: req.requestId });
      if (lastServerError) return lastServerError;
      throw unavailable(maxDefined(retryAfter, Math.ceil(deps.retryBudget.retryAfterMs() / 1000)));
    }
    attempts += 1;
    const release = deps.inflight.acquire(replica.id);
    let res: OriginResponse;
    try {
      res = await deps.originFetch(await buildCall(replica, req, life, deps));
    } catch (err) {
      release();
      // Our own abort (client gone, deadline) is not the replica's fault: stop, don't fail over.
      if (life.signal.aborted) {
        permit.release();
        throw life.reason();
      }
      permit.failure();
      deps.log('origin unreachable, trying the next replica', { replica: replica.id, requestId: req.requestId, error: String(err) });
      continue;
    }
    if (FAILOVER_STATUSES.has(res.status)) {
      release();
      const replicaRetryAfter = parseRetryAfter(res.headers.get('retry-after'));
      // A 503 with retry-after is a replica at capacity saying when to come back: busy, not
      // sick. Counting it would open circuits under plain overload and idle the pool after it.
      if (res.status === 503 && replicaRetryAfter !== undefined) permit.release();
      else permit.failure();
      retryAfter = maxDefined(retryAfter, replicaRetryAfter);
      await res.body?.cancel().catch(() => {});
      deps.log('origin unavailable, trying the next replica', { replica: replica.id, requestId: req.requestId, status: res.status });
      continue;
    }
    if (RETRIED_SERVER_ERRORS.has(res.status)) {
      release();
      permit.failure();
      lastServerError = { res: await buffered(res), replica, release: NO_SLOT };
      deps.log('origin failed the request, trying the next replica', { replica: replica.id, requestId: req.requestId, status: res.status });
      continue;
    }
    // Any other 5xx is the answer, but it still says the replica is failing; a 4xx is the client's.
    if (res.status >= 500) permit.failure();
    else permit.success();
    return { res, replica, release };
  }
  // No replica did better than a server error: that error is the answer (its status and message).
  if (lastServerError) return lastServerError;
  if (attempts === 0 && Number.isFinite(circuitWaitMs)) retryAfter = Math.max(1, Math.ceil(circuitWaitMs / 1000));
  throw unavailable(retryAfter);
}

/** A failed replica's answer, read (bounded) so its connection is free and it can be answered with later. */
async function buffered(res: OriginResponse): Promise<OriginResponse> {
  const text = (await res.text().catch(() => '')).slice(0, MAX_ERROR_BODY_CHARS);
  return { status: res.status, ok: false, headers: res.headers, body: null, text: async () => text };
}

const unavailable = (retryAfter: number | undefined) =>
  new ApiError('origin_unavailable', 'No replica could take the request right now. Please retry.', { retryAfter: retryAfter ?? 1 });

function parseRetryAfter(v: string | null): number | undefined {
  if (v === null) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 300) : undefined;
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}
