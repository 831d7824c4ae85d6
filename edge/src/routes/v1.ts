/**
 * The public OpenAI-compatible routes (DESIGN §3): completions and responses (auth → parse →
 * limits → proxy; responses are translated onto chat), models (what the pool can serve right now)
 * and the caller's own usage.
 */
import { Hono } from 'hono';
import { ApiError, fromZodError } from '#shared/errors.ts';
import type { Model, ModelList } from '#shared/openai.ts';
import { UsageQuery } from '#shared/usage.ts';
import type { EdgeEnv } from '../context.ts';
import { SCOPES } from '../keys/key-record.ts';
import { apiKeyAuth } from '../middleware/auth/auth.ts';
import type { Authenticator } from '../middleware/auth/key-auth.ts';
import type { Ledger, PoolEntry } from '../ports.ts';
import { type CompletionsDeps, completionsHandler } from '../proxy/completions.ts';
import { responsesHandler } from '../responses/handler.ts';
import { deleteStoredResponse, getStoredResponse, type StoredResponsesDeps } from '../responses/stored.ts';
import type { Scheduler } from '../routing/scheduler.ts';
import { toLedgerQuery } from '../usage/usage-query.ts';

export interface V1Deps extends CompletionsDeps {
  authenticate: Authenticator;
  ledger: Ledger;
  /** Stored responses of the Responses API (responses/stored.ts). */
  storedResponses: StoredResponsesDeps;
}

/** The `/v1` routes (mount at `/v1`). */
export function v1Routes(deps: V1Deps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  const inference = apiKeyAuth({ authenticate: deps.authenticate, scope: SCOPES.inference });
  const usageAuth = apiKeyAuth({ authenticate: deps.authenticate, scope: SCOPES.usageRead });
  // Limits are taken inside the handler, once the body is parsed (middleware/limits/admission.ts).
  app.post('/chat/completions', inference, completionsHandler(deps, 'chat.completions'));
  app.post('/completions', inference, completionsHandler(deps, 'completions'));
  app.post('/responses', inference, responsesHandler(deps, deps.storedResponses));
  app.get('/responses/:id', inference, getStoredResponse(deps.storedResponses));
  app.delete('/responses/:id', inference, deleteStoredResponse(deps.storedResponses));

  app.get('/models', inference, async (c) => {
    const list: ModelList = { object: 'list', data: servableModels(await deps.pool.list(deps.clock.now()), deps.clock.now(), deps.scheduler.inRotation) };
    return c.json(list);
  });

  app.get('/models/:id{.+}', inference, async (c) => {
    const id = c.req.param('id');
    const model = servableModels(await deps.pool.list(deps.clock.now()), deps.clock.now(), deps.scheduler.inRotation).find((m) => m.id === id);
    if (!model) throw new ApiError('model_not_found', `The model \`${id}\` does not exist or you do not have access to it.`, { param: 'model' });
    return c.json(model);
  });

  app.get('/usage', usageAuth, async (c) => {
    const parsed = UsageQuery.safeParse(c.req.query());
    if (!parsed.success) throw fromZodError(parsed.error);
    const q = toLedgerQuery(parsed.data);
    const data = await deps.ledger.query(c.get('principal').tenantId, q);
    return c.json({ object: 'list', group_by: q.groupBy, from: q.fromMs ?? null, to: q.toMs ?? null, data });
  });

  // A known path with the wrong method is a 405, not a 404.
  for (const path of ['/chat/completions', '/completions', '/responses']) app.all(path, methodNotAllowed('POST'));
  for (const path of ['/models', '/usage']) app.all(path, methodNotAllowed('GET'));
  return app;
}

function methodNotAllowed(allowed: string) {
  return () => {
    throw new ApiError('method_not_allowed', `This endpoint only accepts ${allowed} requests.`);
  };
}

/** Models with at least one replica in rotation now; `created` = when the edge first saw one. */
export function servableModels(entries: PoolEntry[], now: number, inRotation: Scheduler['inRotation']): Model[] {
  const models = new Map<string, Model>();
  for (const e of entries) {
    if (!inRotation(e, now)) continue;
    const created = Math.floor(e.firstSeen / 1000);
    const prev = models.get(e.heartbeat.model);
    if (!prev || created < prev.created) models.set(e.heartbeat.model, { id: e.heartbeat.model, object: 'model', created, owned_by: 'motif' });
  }
  return [...models.values()].sort((a, b) => a.id.localeCompare(b.id));
}
