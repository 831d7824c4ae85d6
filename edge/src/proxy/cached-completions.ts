/**
 * The response cache's step in the completions handler (edge/src/cache/README.md), after the
 * request is authenticated and admitted by limits and before it is routed:
 *
 * - BYPASS: `cache-control: no-store` on the request, a non-deterministic request, or no replica
 *   of the model in rotation (no revision to key on): neither read nor written.
 * - HIT: a stored entry, or the finished answer of an identical request in flight (coalescing),
 *   replayed as JSON or SSE as this request asks; its lease settles with 0 tokens (or the entry's
 *   tokens, `hitTokensCount`) and it writes its own usage record, outcome `cached`.
 * - MISS: forwarded; the handler feeds the answer to the returned capture, which stores a JSON
 *   200 or a stream that ended with `[DONE]` and usage, and hands it to the requests waiting.
 */
import type { Context } from 'hono';
import { concatBytes } from '#shared/bytes.ts';
import type { Digests } from '#shared/digests.ts';
import { ApiError } from '#shared/errors.ts';
import { utf8Length } from '#shared/prompt-size.ts';
import { SSE_HEADERS } from '#shared/sse.ts';
import type { UsageRecord } from '#shared/usage.ts';
import { CachedCompletion, entryFromJson, replayJson, replaySse, streamCollector } from '../cache/entry.ts';
import { flights } from '../cache/flights.ts';
import { type CacheableRequest, type CacheEndpoint, cacheKey, isDeterministic } from '../cache/key.ts';
import type { EdgeEnv } from '../context.ts';
import { backgroundOf } from '../middleware/auth/auth.ts';
import type { AdmissionLease } from '../middleware/limits/admission.ts';
import type { Clock, Ledger, PoolEntry, ResponseCacheStore } from '../ports.ts';

/** The `replica_id` of usage records written for cache hits (no replica served them). */
export const CACHE_REPLICA_ID = 'edge-cache';

export interface ResponseCacheDeps {
  store: ResponseCacheStore;
  digests: Digests;
  ledger: Ledger;
  clock: Clock;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  ttlMs: number;
  /** A serialized entry larger than this is not stored (nor handed to waiting requests). */
  maxEntryBytes: number;
  /** Whether a hit's tokens count against tokens/min and the monthly quota (default: only the request counts). */
  hitTokensCount: boolean;
}

/** What the handler feeds a MISS's answer to; every path ends in exactly one of `json`, `streamEnd`, `fail`. */
export interface Capture {
  /** A parsed chunk of the origin's stream, usage chunk included. */
  chunk(chunk: Record<string, unknown>): void;
  /** The stream ended; `done` when it ended with `[DONE]`. */
  streamEnd(done: boolean, revision: string): void;
  json(status: number, text: string, revision: string): void;
  fail(): void;
}

export type CacheStep = { kind: 'hit'; response: Response } | { kind: 'forward'; xCache: 'MISS' | 'BYPASS'; capture?: Capture };

const BYPASS: CacheStep = { kind: 'forward', xCache: 'BYPASS' };

/**
 * `result`, unless the client goes away first: a request waiting for an identical one in flight
 * then ends at once (its reservation refunded by the caller) instead of when the leader does.
 */
function unlessClientLeaves<T>(result: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return result;
  const closed = () => new ApiError('client_closed_request', 'The client closed the request.');
  if (signal.aborted) return Promise.reject(closed());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(closed());
    signal.addEventListener('abort', onAbort, { once: true });
    result.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** `cache-control: no-store` among the request's directives. */
const noStore = (header: string | undefined) => (header ?? '').split(',').some((d) => d.trim().toLowerCase() === 'no-store');

/** Build the cache step (one set of in-flight requests per app: per process or per isolate). */
export function responseCache(deps: ResponseCacheDeps) {
  if (!(deps.ttlMs >= 1) || !(deps.maxEntryBytes >= 1)) throw new Error('responseCache: ttlMs and maxEntryBytes must be at least 1');
  const inFlight = flights<CachedCompletion>();

  /** Replay `entry` for this request, meter it as a cached request. */
  async function hit(c: Context<EdgeEnv>, req: CacheableRequest, endpoint: CacheEndpoint, lease: AdmissionLease, entry: CachedCompletion): Promise<Response> {
    lease.finish(deps.hitTokensCount ? entry.usage.total_tokens : 0);
    const principal = c.get('principal');
    const requestId = c.get('upstreamRequestId');
    const now = deps.clock.now();
    const record: UsageRecord = {
      request_id: requestId,
      replica_id: CACHE_REPLICA_ID,
      tenant_id: principal.tenantId,
      key_id: principal.keyId,
      model: entry.model,
      revision: entry.revision,
      endpoint,
      prompt_tokens: entry.usage.prompt_tokens,
      cached_tokens: entry.usage.prompt_tokens,
      completion_tokens: entry.usage.completion_tokens,
      outcome: 'cached',
      started_at: now,
      finished_at: now,
    };
    // Written behind the answer (the Worker's waitUntil keeps it alive): waiting for the ledger's
    // commit and fsync would cost a hit more than everything else it does. An edge that dies in
    // that window (milliseconds) loses hit records only, never a generated request's.
    backgroundOf(c)(
      deps.ledger.insert([record], now).then(
        () => {},
        (err: unknown) => deps.log('response cache: writing a hit usage record failed', { requestId, error: String(err) }),
      ),
    );
    const who = { id: requestId, created: Math.floor(now / 1000) };
    if (req.stream === true) {
      const frames = replaySse(entry, who, req.stream_options?.include_usage === true);
      // A replayed stream is complete before its first byte goes out: one write, not a system
      // call per frame, which would be most of what a stream hit costs the edge.
      return c.body(concatBytes(frames), 200, { ...SSE_HEADERS, 'x-cache': 'HIT' });
    }
    c.header('x-cache', 'HIT');
    return c.json(replayJson(entry, who));
  }

  function capture(c: Context<EdgeEnv>, endpoint: CacheEndpoint, key: string, settle?: (e: CachedCompletion | undefined) => void): Capture {
    const collector = streamCollector(endpoint);
    let ended = false;
    const end = (entry: CachedCompletion | undefined) => {
      if (ended) return;
      ended = true;
      const text = entry && JSON.stringify(entry);
      const keep = text !== undefined && utf8Length(text) <= deps.maxEntryBytes;
      settle?.(keep ? entry : undefined);
      if (!keep) return;
      backgroundOf(c)(
        deps.store.put(key, text, deps.ttlMs).catch((err: unknown) => deps.log('response cache: storing an entry failed', { error: String(err) })),
      );
    };
    return {
      chunk: (ch) => collector.chunk(ch),
      streamEnd: (done, revision) => end(done ? collector.complete(revision) : undefined),
      json(status, text, revision) {
        if (status !== 200) return end(undefined);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return end(undefined);
        }
        end(entryFromJson(endpoint, body, revision));
      },
      fail: () => end(undefined),
    };
  }

  async function lookup(key: string): Promise<CachedCompletion | undefined> {
    let text: string | undefined;
    try {
      text = await deps.store.get(key);
    } catch (err) {
      deps.log('response cache: reading failed (served as a miss)', { error: String(err) });
      return undefined;
    }
    if (text === undefined) return undefined;
    try {
      // Validated: an entry written by another version of the edge (Workers' cache outlives a deploy) is a miss.
      const parsed = CachedCompletion.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The cache step for one admitted request. `revisions`: the weights revisions of the model's
   * replicas in rotation (empty = none: bypass).
   */
  async function step(
    c: Context<EdgeEnv>,
    endpoint: CacheEndpoint,
    req: CacheableRequest,
    lease: AdmissionLease,
    revisions: readonly string[],
  ): Promise<CacheStep> {
    if (noStore(c.req.header('cache-control')) || !isDeterministic(req) || revisions.length === 0) return BYPASS;
    const key = await cacheKey({ tenantId: c.get('principal').tenantId, endpoint, revisions, request: req }, deps.digests);
    const role = inFlight.join(key);
    if (role.role === 'follower') {
      const entry = await unlessClientLeaves(role.result, c.req.raw.signal);
      if (entry) return { kind: 'hit', response: await hit(c, req, endpoint, lease, entry) };
      // The leader failed: this request makes its own origin call (and may still store its answer).
      return { kind: 'forward', xCache: 'MISS', capture: capture(c, endpoint, key) };
    }
    let stored: CachedCompletion | undefined;
    try {
      stored = await lookup(key);
      if (stored) {
        role.settle(stored);
        return { kind: 'hit', response: await hit(c, req, endpoint, lease, stored) };
      }
    } catch (err) {
      role.settle(stored);
      throw err;
    }
    return { kind: 'forward', xCache: 'MISS', capture: capture(c, endpoint, key, role.settle) };
  }

  return { step, inFlight: () => inFlight.size() };
}

export type ResponseCache = ReturnType<typeof responseCache>;

/** Revisions of `model`'s replicas in rotation: the key follows them, so a weights update invalidates. */
export function servingRevisions(entries: readonly PoolEntry[], model: string, now: number, inRotation: (e: PoolEntry, now: number) => boolean): string[] {
  return [...new Set(entries.filter((e) => e.heartbeat.model === model && inRotation(e, now)).map((e) => e.heartbeat.revision))];
}
