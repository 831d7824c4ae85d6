/**
 * Composition root for Cloudflare Workers: Durable Objects (SQLite storage) for keys, the pool
 * registry, per-tenant ledgers, per-tenant rate limits and the replay window of internal calls;
 * an in-isolate cache in front of the keys. Config comes from vars/secrets, validated when the
 * isolate builds its app (there is no process start in a Worker); a bad value answers 500 and
 * logs which variable is wrong.
 * Nothing Node-only is imported here.
 */
import type { Request as CfRequest, Response as CfResponse, ExecutionContext, ExportedHandler } from '@cloudflare/workers-types';
import type { Hono } from 'hono';
import { ApiError, errorResponse } from '#shared/errors.ts';
import type { Env } from './adapters/cloudflare/env.ts';
import { doKeyStore, doLedger, doLimiter, doPool, doReplayWindow, doResponseStore } from './adapters/cloudflare/ports.ts';
import { type CacheApi, cacheApiResponseCache } from './adapters/cloudflare/response-cache.ts';
import { cachedKeyStore } from './adapters/memory/cached-key-store.ts';
import { systemClock } from './adapters/memory/clock.ts';
import { createEdgeApp } from './app.ts';
import { ConfigError, edgeAppOptions, loadEdgeConfig } from './config.ts';
import type { EdgeEnv } from './context.ts';
import { pepperedKeyHasher } from './keys/key-hash.ts';
import { seedDevKey } from './seed.ts';

export type { Env } from './adapters/cloudflare/env.ts';
export { KeysDO } from './adapters/cloudflare/keys-do.ts';
export { LedgerDO } from './adapters/cloudflare/ledger-do.ts';
export { LimiterDO } from './adapters/cloudflare/limiter-do.ts';
export { PoolDO } from './adapters/cloudflare/pool-do.ts';
export { ReplayDO } from './adapters/cloudflare/replay-do.ts';

/** Build the edge app for one isolate's bindings. */
export async function buildWorkerApp(env: Env): Promise<Hono<EdgeEnv>> {
  const vars: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') vars[k] = v;
  const config = loadEdgeConfig(vars);
  const clock = systemClock();
  // The key cache bounds revocation on Workers: a key revoked through another isolate stops
  // working here within its TTL (10 s, cached-key-store.ts).
  const keys = cachedKeyStore(doKeyStore(env.KEYS), { clock });
  const keyHasher = pepperedKeyHasher(config.keyPepper);
  if (config.devApiKey) await seedDevKey(keys, keyHasher, config.devApiKey, clock.now());
  const jwks = config.jwt?.jwks;
  if (jwks && 'file' in jwks)
    throw new ConfigError('invalid edge configuration:\n  MOTIF_JWT_JWKS_FILE: a Worker has no files; set MOTIF_JWT_JWKS (inline JSON) or MOTIF_JWT_JWKS_URL');
  return createEdgeApp({
    keys,
    keyHasher,
    jwt: config.jwt && jwks && !('file' in jwks) ? { ...config.jwt, jwks } : undefined,
    ledger: doLedger(env.LEDGER, () => keys.listTenants()),
    limiter: doLimiter(env.LIMITER),
    pool: doPool(env.POOL),
    replayWindow: doReplayWindow(env.REPLAY),
    // The data centre's Cache API: entries are per colo; coalescing is per isolate.
    responseCache: config.cache.enabled ? cacheApiResponseCache((caches as unknown as { default: CacheApi }).default) : undefined,
    responseStore: doResponseStore(env.LEDGER),

    clock,
    signingKey: config.signingKey,
    nodeKeys: config.nodeKeys,
    originAllow: config.originAllow,
    options: edgeAppOptions(config),
    schedulerProfile: config.routingProfile,
    log: (msg, fields) => console.log(JSON.stringify({ component: 'edge', msg, ...fields })),
  });
}

// One app per isolate, built on first use: the composition root is the only place that holds
// one, and the key cache and in-flight counts must outlive a single request. Keyed by the env
// object so a test (or a runtime) with different bindings gets its own app.
const apps = new WeakMap<Env, Promise<Hono<EdgeEnv>>>();

function appFor(env: Env): Promise<Hono<EdgeEnv>> {
  let app = apps.get(env);
  if (!app) {
    app = buildWorkerApp(env);
    // A failed build (bad config, a DO hiccup while seeding) is retried on the next request.
    app.catch(() => apps.delete(env));
    apps.set(env, app);
  }
  return app;
}

export default {
  async fetch(request: CfRequest, env: Env, ctx: ExecutionContext): Promise<CfResponse> {
    let app: Hono<EdgeEnv>;
    try {
      app = await appFor(env);
    } catch (err) {
      console.error(err instanceof ConfigError ? err.message : err);
      const message = err instanceof ConfigError ? 'The edge is misconfigured; see its logs.' : 'The edge failed to start; see its logs.';
      return errorResponse(new ApiError('internal_error', message)) as unknown as CfResponse;
    }
    // Workers' Request/Response and the DOM ones the app is typed with are the same objects at
    // run time; only their TypeScript declarations differ.
    return (await app.fetch(request as unknown as Request, env, ctx as never)) as unknown as CfResponse;
  },
} satisfies ExportedHandler<Env>;
