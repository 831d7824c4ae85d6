/**
 * The edge as a Hono app built from ports (DESIGN §1–§3). No runtime imports: the composition
 * roots (node.ts, worker.ts) pass durable adapters, tests pass in-memory ones and a fake origin.
 * Every error leaves through one `onError` as OpenAI error JSON, with the request id echoed.
 */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { type Digests, webDigests } from '#shared/digests.ts';
import { ApiError, toApiError, toErrorResponseParts } from '#shared/errors.ts';
import { ReplayGuard, type ReplayWindow, type SigningKey } from '#shared/signing.ts';
import type { EdgeEnv } from './context.ts';
import { eitherAuthenticator, type JwtOptions, jwtAuthenticator } from './middleware/auth/jwt.ts';
import { keyAuthenticator } from './middleware/auth/key-auth.ts';
import { jsonContentType } from './middleware/content-type/content-type.ts';
import { corsFor } from './middleware/cors/cors.ts';
import { admission } from './middleware/limits/admission.ts';
import { LimitDefaults } from './middleware/limits/policy.ts';
import { requestId } from './middleware/request-id/request-id.ts';
import { openApiDocument } from './openapi/document.ts';
import type { Clock, KeyHasher, KeyStore, Ledger, Limiter, PoolView, ResponseCacheStore, ResponseStore } from './ports.ts';
import { responseCache } from './proxy/cached-completions.ts';
import { retryBudget } from './proxy/retry-budget.ts';
import { fetchOrigin, type OriginFetch } from './proxy/upstream.ts';
import { adminAuth } from './routes/admin/admin-auth.ts';
import { keyRoutes } from './routes/admin/keys.ts';
import { opsRoutes } from './routes/admin/ops.ts';
import { tenantRoutes } from './routes/admin/tenants.ts';
import { adminUsageRoutes } from './routes/admin/usage.ts';
import { internalRoutes } from './routes/internal.ts';
import { v1Routes } from './routes/v1.ts';
import { circuitBreaker } from './routing/circuit-breaker.ts';
import { inflightTracker } from './routing/inflight.ts';
import { createScheduler } from './routing/scheduler.ts';
import type { NodeKeys } from './trust/node-keys.ts';
import { type OriginAllowList, parseOriginAllowList } from './trust/origin-allow-list.ts';

export const EdgeOptions = z.object({
  /** Largest accepted request body (public and internal). */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(2 * 1024 * 1024),
  /** How long one completion may take end to end (sent to the origin as `x-deadline`). */
  requestTimeoutMs: z.number().int().min(1000).max(3_600_000).default(600_000),
  /** Replicas tried before giving up with 503 (failover happens only before the first byte). */
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** Per-replica circuit breaker (routing/circuit-breaker.ts), in this process's or isolate's memory. */
  circuitBreaker: z
    .object({
      failureThreshold: z.number().int().min(1).max(1000).default(5),
      cooldownMs: z.number().int().min(1).max(600_000).default(5000),
      maxCooldownMs: z.number().int().min(1).max(600_000).default(60_000),
    })
    .strict()
    .refine((b) => b.maxCooldownMs >= b.cooldownMs, { message: 'maxCooldownMs must be at least cooldownMs', path: ['maxCooldownMs'] })
    .default({ failureThreshold: 5, cooldownMs: 5000, maxCooldownMs: 60_000 }),
  /** Failover retries allowed: `ratio` of first attempts plus `minRetries` per `windowMs` (proxy/retry-budget.ts). */
  retryBudget: z
    .object({
      ratio: z.number().min(0).max(1).default(0.2),
      minRetries: z.number().int().min(0).max(100_000).default(10),
      windowMs: z.number().int().min(1000).max(600_000).default(10_000),
    })
    .strict()
    .default({ ratio: 0.2, minRetries: 10, windowMs: 10_000 }),
  /** Bearer token for `/admin/*`; unset = only API keys with the `admin` scope get in. */
  adminToken: z.string().min(16).optional(),
  /** Defaults for limits that tenant and key records leave null (middleware/limits/policy.ts). */
  limits: LimitDefaults.partial().optional(),
  /** Admit without limits when the limiter store fails, instead of a 503 (see edge/README.md). */
  limitsFailOpen: z.boolean().default(false),
  /** The response cache (cache/README.md); used when the app is given a `responseCache` store. */
  cache: z
    .object({
      /** How long an entry is served after it was stored. */
      ttlMs: z
        .number()
        .int()
        .min(1000)
        .max(30 * 86_400_000)
        .default(300_000),
      /** Answers larger than this (serialized entry, UTF-8) are not stored. */
      maxEntryBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(256 * 1024),
      /** Whether a hit's tokens count against tokens/min and the monthly quota (its request always counts). */
      hitTokensCount: z.boolean().default(false),
    })
    .strict()
    .default({ ttlMs: 300_000, maxEntryBytes: 256 * 1024, hitTokensCount: false }),
  /** How long a stored Responses API response can be read or continued from (OpenAI keeps them 30 days). */
  storedResponseTtlMs: z
    .number()
    .int()
    .min(60_000)
    .max(365 * 86_400_000)
    .default(30 * 86_400_000),
  /** Browser origins allowed to call the API (`*` or exact origins); unset = no CORS headers. */
  corsOrigins: z.union([z.literal('*'), z.array(z.string().min(1)).min(1)]).optional(),
});
export type EdgeOptions = z.infer<typeof EdgeOptions>;

export type Logger = (msg: string, fields?: Record<string, unknown>) => void;

export interface EdgeAppDeps {
  keys: KeyStore;
  /** Hashes presented key secrets under the server pepper (keys/key-hash.ts; Node injects node:crypto). */
  keyHasher: KeyHasher;
  /** Enterprise JWT auth; unset = a JWT-shaped bearer is just an unknown key. */
  jwt?: JwtOptions & { getKey?: JWTVerifyGetKey };
  limiter: Limiter;
  ledger: Ledger;
  pool: PoolView;
  clock: Clock;
  /** Signs forwarded requests (edge → origin). */
  signingKey: SigningKey;
  /** Verify heartbeats and usage (origin → edge); each key speaks for one node's replicas. */
  nodeKeys: NodeKeys;
  /** Where replicas may be (default: loopback and private addresses, trust/origin-allow-list.ts). */
  originAllow?: OriginAllowList;
  /**
   * Request ids of signed internal calls already accepted (default: this app's memory). Shared by
   * every instance that serves the internal routes, so a replay cannot land on another one.
   */
  replayWindow?: ReplayWindow;
  /** How to reach origins (default: global fetch). Tests pass a fake origin here. */
  originFetch?: OriginFetch;
  /** Hashing on the request path (default WebCrypto; Node passes node:crypto, adapters/node/digests.ts). */
  digests?: Digests;
  options?: z.input<typeof EdgeOptions>;
  /** Scheduler profile (routing/registry.ts); default DEFAULT_PROFILE there (routing/README.md). */
  schedulerProfile?: unknown;
  /** Where the response cache keeps entries; unset = no response cache (every answer `x-cache: BYPASS`). */
  responseCache?: ResponseCacheStore;
  /** Where cache hits' usage records go (default: `ledger`); Node gathers them (usage/lingering-ledger.ts). */
  hitLedger?: Ledger;
  /** Where Responses API responses are stored (`store`, `previous_response_id`); unset = not stored. */
  responseStore?: ResponseStore;
  /** Tie-break randomness for the scheduler. */
  random?: () => number;
  log?: Logger;
  /** Exposition text the runtime adds to `/admin/metrics` (Node: the event-loop delay gauges). */
  extraMetrics?: () => string;
}

/** Build the edge app. Throws at construction on invalid options (never on a request). */
export function createEdgeApp(deps: EdgeAppDeps): Hono<EdgeEnv> {
  const opts = EdgeOptions.parse(deps.options ?? {});
  if (!deps.signingKey?.secret) throw new Error('createEdgeApp: a signing key is required');
  if (!deps.nodeKeys || deps.nodeKeys.ring.size === 0) throw new Error('createEdgeApp: node keys are required');
  const log: Logger = deps.log ?? (() => {});
  const originFetch: OriginFetch = deps.originFetch ?? fetchOrigin;
  const digests = deps.digests ?? webDigests;
  const inflight = inflightTracker();
  const now = () => deps.clock.now();
  const breaker = circuitBreaker(opts.circuitBreaker, now);
  const budget = retryBudget(opts.retryBudget, now);
  const scheduler = createScheduler({ profile: deps.schedulerProfile, random: deps.random, now });

  const authenticate = eitherAuthenticator(
    keyAuthenticator({
      keys: deps.keys,
      hash: deps.keyHasher,
      clock: deps.clock,
      onTouchError: (err) => log('recording key use failed', { error: String(err) }),
    }),
    deps.jwt && jwtAuthenticator(deps.jwt, { keys: deps.keys, clock: deps.clock, getKey: deps.jwt.getKey }),
  );

  const app = new Hono<EdgeEnv>();
  app.onError((err, c) => {
    const e = toApiError(err);
    if (e.code === 'internal_error')
      log('unhandled error', { requestId: c.get('requestId'), error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    const { status, body, headers } = toErrorResponseParts(e);
    return c.json(body, status as ContentfulStatusCode, headers);
  });
  app.notFound(() => {
    throw new ApiError('not_found', 'Unknown endpoint.');
  });
  app.use('*', requestId());
  const corsMiddleware = corsFor(opts.corsOrigins);
  if (corsMiddleware) app.use('*', corsMiddleware);
  for (const path of ['/v1/*', '/admin/*']) app.on(['POST', 'PUT', 'PATCH'], path, jsonContentType());

  app.get('/healthz', async (c) => {
    const now = deps.clock.now();
    const entries = await deps.pool.list(now);
    const live = entries.filter((e) => scheduler.inRotation(e, now)).length;
    return c.json({ status: 'ok', replicas: { ready: live, known: entries.length } });
  });

  // Generated once per app (the schemas do not change); only the server URL follows the request.
  let apiDocument: Record<string, unknown> | undefined;
  app.get('/openapi.json', (c) => {
    apiDocument ??= openApiDocument();
    return c.json({ ...apiDocument, servers: [{ url: new URL(c.req.url).origin }] });
  });

  app.route(
    '/v1',
    v1Routes({
      authenticate,
      limits: admission({
        limiter: deps.limiter,
        clock: deps.clock,
        defaults: opts.limits,
        failOpen: opts.limitsFailOpen,
        requestTimeoutMs: opts.requestTimeoutMs,
        log,
      }),
      ledger: deps.ledger,
      pool: deps.pool,
      clock: deps.clock,
      scheduler,
      inflight,
      breaker,
      retryBudget: budget,
      signingKey: deps.signingKey,
      digests,
      originFetch,
      log,
      maxBodyBytes: opts.maxBodyBytes,
      requestTimeoutMs: opts.requestTimeoutMs,
      maxAttempts: opts.maxAttempts,
      cache:
        deps.responseCache &&
        responseCache({ store: deps.responseCache, digests, ledger: deps.hitLedger ?? deps.ledger, clock: deps.clock, log, ...opts.cache }),
      storedResponses: { store: deps.responseStore, ttlMs: opts.storedResponseTtlMs, clock: deps.clock, log },
    }),
  );
  app.route(
    '/',
    internalRoutes({
      pool: deps.pool,
      limiter: deps.limiter,
      ledger: deps.ledger,
      clock: deps.clock,
      log,
      nodeKeys: deps.nodeKeys,
      digests,
      originAllow: deps.originAllow ?? parseOriginAllowList(),
      maxBodyBytes: opts.maxBodyBytes,
      replayWindow: deps.replayWindow ?? new ReplayGuard(),
    }),
  );

  // Everything under /admin needs the admin token or an `admin`-scoped key.
  app.use('/admin/*', adminAuth({ adminToken: opts.adminToken, authenticate }));
  app.route('/admin', opsRoutes({ pool: deps.pool, clock: deps.clock, scheduler, inflight, breaker, extraMetrics: deps.extraMetrics }));
  app.route('/admin', tenantRoutes({ keys: deps.keys, clock: deps.clock }));
  app.route('/admin', keyRoutes({ keys: deps.keys, clock: deps.clock, hash: deps.keyHasher }));
  app.route('/admin/usage', adminUsageRoutes({ ledger: deps.ledger, clock: deps.clock }));
  return app;
}
