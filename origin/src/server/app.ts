/**
 * The origin's HTTP surface as a Hono app built from injected ports (no runtime imports):
 * `/v1/chat/completions`, `/v1/completions`, `/v1/models` and `/admin/drain` behind the edge's
 * request signature; `/healthz`, `/readyz` and `/metrics` open for probes and scrapers.
 */
import { Hono, type Context } from 'hono';
import { ApiError, errorResponse } from '#shared/errors.ts';
import type { ModelList } from '#shared/openai.ts';
import { HEADERS } from '#shared/protocol.ts';
import { signatureAuth, type OriginEnv } from './auth.ts';
import { checkDeps, type OriginDeps } from './deps.ts';
import { generate } from './generation.ts';
import { mapChatRequest, mapCompletionRequest, parseJsonBody, type Endpoint, type MappedRequest } from './map-request.ts';
import { drainReplica } from './lifecycle.ts';
import { createRenderer } from './render.ts';
import { parseDeadline, startRun } from './request-run.ts';

const KNOWN_ENDPOINTS = new Set(['chat/completions', 'completions', 'models']);

/** Build the origin app; throws at once on miswired dependencies. */
export function createOriginApp(deps: OriginDeps): Hono<OriginEnv> {
  const limits = checkDeps(deps);
  const log = deps.log ?? (() => {});
  const startedAt = Math.floor(deps.clock.now() / 1000);
  const app = new Hono<OriginEnv>();

  app.onError((err, c) => {
    const res = errorResponse(err);
    if (res.status >= 500 && !(err instanceof ApiError)) log(`origin: unexpected error on ${c.req.method} ${c.req.path}: ${(err as Error).stack ?? String(err)}`);
    return res;
  });
  app.notFound((c) => errorResponse(new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}.`)));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const state = deps.lifecycle.state;
    return c.json({ status: state === 'ready' ? 'ready' : 'unavailable', state }, state === 'ready' ? 200 : 503);
  });
  app.get('/metrics', (c) => {
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

  const generationRoute = (endpoint: Endpoint, map: (raw: Record<string, unknown>, requestId: string) => MappedRequest) =>
    async (c: Context<OriginEnv>) => {
      const signed = c.get('signed');
      if (!signed.tenantId) throw new ApiError('invalid_request_error', `Missing ${HEADERS.tenantId} header.`);
      // One engine for the whole request, so its fingerprint and usage name the revision that
      // actually generates it, even when the engines are swapped while it waits for a slot.
      const pinned = deps.pinEngine?.() ?? { engine: deps.engine, release: () => {} };
      const info = pinned.engine.info();
      const meta = {
        requestId: signed.requestId,
        replicaId: deps.replica.replicaId,
        tenantId: signed.tenantId.slice(0, 128),
        keyId: signed.keyId.slice(0, 128),
        model: info.model,
        revision: info.revision,
        endpoint,
      };
      // A malformed deadline is still a request of this tenant: it gets its (error) usage record.
      let deadline: number | undefined;
      let badDeadline: unknown;
      try {
        deadline = parseDeadline(c.req.header(HEADERS.deadline));
      } catch (err) {
        badDeadline = err;
      }
      const run = startRun(deps, meta, c.req.raw.signal, deadline);
      run.holdSlot(pinned.release);
      try {
        if (badDeadline) throw badDeadline;
        if (run.signal.aborted) throw run.signal.reason;
        const mapped = map(parseJsonBody(signed.body), signed.requestId);
        if (mapped.model !== info.model) {
          throw new ApiError('model_not_found', `The model '${mapped.model}' does not exist on this replica (it serves '${info.model}').`, { param: 'model' });
        }
        const state = deps.lifecycle.state;
        if (state !== 'ready') {
          throw new ApiError('engine_unavailable', state === 'starting' ? 'The model is still loading.' : 'This replica is draining.', { retryAfter: 1 });
        }
        const renderer = createRenderer(endpoint, {
          requestId: signed.requestId,
          created: Math.floor(deps.clock.now() / 1000),
          model: info.model,
          fingerprint: `fp_${info.revision}`,
          includeUsage: mapped.includeUsage,
          logprobs: mapped.logprobs,
        });
        return await generate(pinned.engine === deps.engine ? deps : { ...deps, engine: pinned.engine }, run, mapped, renderer);
      } catch (err) {
        const e = run.explain(err);
        await run.fail(e);
        throw e;
      }
    };
  app.post('/v1/chat/completions', generationRoute('chat.completions', mapChatRequest));
  app.post('/v1/completions', generationRoute('completions', mapCompletionRequest));

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
