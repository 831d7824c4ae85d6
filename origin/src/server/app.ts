/**
 * The origin's HTTP surface as a Hono app built from injected ports (no runtime imports):
 * `/v1/chat/completions`, `/v1/completions`, `/v1/models` and `/admin/drain` behind the edge's
 * request signature; `/healthz` and `/readyz` open for probes; `/metrics` behind a scraper's
 * bearer token unless configured public.
 */
import { Hono } from 'hono';
import { bearerToken, tokenMatches } from '#shared/bearer.ts';
import { ApiError, errorResponse } from '#shared/errors.ts';
import type { ModelList } from '#shared/openai.ts';
import { HEADERS } from '#shared/protocol.ts';
import { type OriginEnv, signatureAuth } from './auth.ts';
import { checkDeps, type MetricsAccess, type OriginDeps } from './deps.ts';
import { generationHandler } from './generation-request.ts';
import { drainReplica } from './lifecycle.ts';
import { mapChatRequest, mapCompletionRequest } from './map-request.ts';

const KNOWN_ENDPOINTS = new Set(['chat/completions', 'completions', 'models']);

/** Build the origin app; throws at once on miswired dependencies. */
export function createOriginApp(deps: OriginDeps): Hono<OriginEnv> {
  const limits = checkDeps(deps);
  const log = deps.log ?? (() => {});
  const startedAt = Math.floor(deps.clock.now() / 1000);
  const app = new Hono<OriginEnv>();

  app.onError((err, c) => {
    const res = errorResponse(err);
    if (res.status >= 500 && !(err instanceof ApiError))
      log(`origin: unexpected error on ${c.req.method} ${c.req.path}: ${(err as Error).stack ?? String(err)}`);
    return res;
  });
  app.notFound((c) => errorResponse(new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}.`)));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const state = deps.lifecycle.state;
    return c.json({ status: state === 'ready' ? 'ready' : 'unavailable', state }, state === 'ready' ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    await requireMetricsAccess(c.req.header('authorization'), deps.metricsAccess);
    const text = deps.metrics.render({
      model: deps.engine.info().model,
      engine: deps.engine.stats(),
      admission: deps.admission,
      state: deps.lifecycle.state,
      ...(deps.outboxBacklog ? { outboxBacklog: deps.outboxBacklog() } : {}),
    });
    return c.text(text + (deps.extraMetrics?.() ?? ''), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  // Count every answered /v1 request by endpoint and status, refusals included (a stream counts
  // at its 200); registered before auth so 401s are counted too.
  app.use('/v1/*', async (c, next) => {
    await next();
    const id = c.req.header(HEADERS.requestId);
    if (id) c.header(HEADERS.requestId, id);
    // Known endpoints only: arbitrary paths from unsigned callers must not grow the label set.
    const endpoint = c.req.path.slice('/v1/'.length);
    deps.metrics.requestDone(KNOWN_ENDPOINTS.has(endpoint) ? endpoint : 'other', c.res.status);
  });
  const auth = signatureAuth({ keyring: deps.keyring, replayGuard: deps.replayGuard, clock: deps.clock, maxBodyBytes: limits.maxBodyBytes });
  app.use('/v1/*', auth);
  app.use('/admin/*', auth);

  app.get('/v1/models', (c) => {
    const info = deps.engine.info();
    // The fingerprint names the weights revision served now (it changes with a rolling update).
    const body: ModelList & { data: { system_fingerprint: string }[] } = {
      object: 'list',
      data: [{ id: info.model, object: 'model', created: startedAt, owned_by: 'motif', system_fingerprint: `fp_${info.revision}` }],
    };
    return c.json(body);
  });

  const generation = generationHandler(deps);
  app.post('/v1/chat/completions', (c) => generation(c, 'chat.completions', mapChatRequest));
  app.post('/v1/completions', (c) => generation(c, 'completions', mapCompletionRequest));

  // Drain: refuse new work at once (heartbeat and /readyz say draining), let running requests
  // finish; answers when they have, or after `drainWaitMs` with what is still running.
  app.post('/admin/drain', async (c) => {
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = drainReplica({ ...deps, log }).then(() => (done = true));
    await Promise.race([finished, new Promise((r) => (timer = setTimeout(r, limits.drainWaitMs)))]);
    clearTimeout(timer);
    return c.json({ state: deps.lifecycle.state, drained: done, running: deps.admission.running }, done ? 200 : 202);
  });

  return app;
}

/** /metrics for the configured scraper only (a bearer token compared in constant time), or anyone when public. */
async function requireMetricsAccess(header: string | undefined, access: MetricsAccess | undefined): Promise<void> {
  if (access === 'public') return;
  if (!access) {
    throw new ApiError(
      'permission_denied',
      '/metrics is closed: set MOTIF_ORIGIN_METRICS_TOKEN (scrapers send it as a bearer token) or MOTIF_ORIGIN_METRICS_PUBLIC=1.',
    );
  }
  const presented = bearerToken(header);
  if (!presented) throw new ApiError('authentication_error', 'A metrics token is required (Authorization: Bearer <token>).');
  if (!(await tokenMatches(presented, access.token))) throw new ApiError('authentication_error', 'Invalid metrics token.');
}
