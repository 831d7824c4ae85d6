/**
 * The simulator as a standalone OpenAI-compatible server, a stand-in for `vllm serve` in tests of
 * the vLLM tier: `POST /v1/chat/completions` and `/v1/completions` (JSON and SSE, the origin's own
 * request mapping and rendering), `GET /v1/models`, `GET /health`, and `GET /metrics` under vLLM's
 * names. No auth, signatures or usage records: like a bare vLLM, it trusts whoever reaches it.
 * Web-standard (Hono); the Node entry point is main.ts.
 */
import { Hono } from 'hono';
import type { Clock } from '#shared/clock.ts';
import { ApiError, errorResponse } from '#shared/errors.ts';
import type { Engine } from '../../engine/types.ts';
import type { UsageSink } from '../../ports.ts';
import { engineResponse } from '../../server/engine-response.ts';
import { type Endpoint, type MappedRequest, mapChatRequest, mapCompletionRequest, parseJsonBody } from '../../server/map-request.ts';
import { createOriginMetrics } from '../../server/metrics.ts';
import { createRenderer } from '../../server/render.ts';
import { startRun } from '../../server/request-run.ts';
import { createVllmMetrics } from './vllm-metrics.ts';

export interface SimServerDeps {
  engine: Engine;
  clock: Clock;
  /** Request ids (`chatcmpl-<id>`); default a random UUID. */
  newId?: () => string;
}

// Nothing is billed here: the runs' records go nowhere.
const NO_USAGE: UsageSink = { append: async () => {} };

/** Build the server app over a loaded engine. */
export function createSimServerApp(deps: SimServerDeps): Hono {
  const { clock } = deps;
  const metrics = createVllmMetrics(() => clock.now());
  const engine = metrics.timed(deps.engine);
  const newId = deps.newId ?? (() => crypto.randomUUID());
  const runDeps = { clock, usage: NO_USAGE, metrics: createOriginMetrics() };
  const created = Math.floor(clock.now() / 1000);
  const app = new Hono();

  app.onError((err) => errorResponse(err));
  app.notFound((c) => errorResponse(new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}.`)));

  app.get('/health', (c) => c.body(null, 200));
  app.get('/metrics', (c) => c.text(metrics.render(engine.info().model, engine.stats()), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }));
  app.get('/v1/models', (c) => {
    const info = engine.info();
    return c.json({
      object: 'list',
      data: [{ id: info.model, object: 'model', created, owned_by: 'vllm', root: info.model, parent: null, max_model_len: info.maxContextTokens }],
    });
  });

  async function generation(request: Request, endpoint: Endpoint, map: (raw: Record<string, unknown>, id: string) => MappedRequest): Promise<Response> {
    const requestId = newId();
    const info = engine.info();
    const run = startRun(
      runDeps,
      { requestId, replicaId: 'sim', tenantId: 'sim', keyId: 'sim', model: info.model, revision: info.revision, endpoint },
      request.signal,
      undefined,
    );
    try {
      const mapped = map(parseJsonBody(new Uint8Array(await request.arrayBuffer())), requestId);
      if (mapped.model !== info.model) {
        throw new ApiError('model_not_found', `The model \`${mapped.model}\` does not exist (this server serves '${info.model}').`, { param: 'model' });
      }
      const renderer = createRenderer(endpoint, {
        requestId,
        created: Math.floor(clock.now() / 1000),
        model: info.model,
        fingerprint: `fp_${info.revision}`,
        includeUsage: mapped.includeUsage,
        logprobs: mapped.logprobs,
      });
      return await engineResponse(engine, run, mapped, renderer);
    } catch (err) {
      const e = run.explain(err);
      await run.fail(e);
      throw e;
    }
  }

  app.post('/v1/chat/completions', (c) => generation(c.req.raw, 'chat.completions', mapChatRequest));
  app.post('/v1/completions', (c) => generation(c.req.raw, 'completions', mapCompletionRequest));
  return app;
}
