/**
 * Internal endpoints origins call, both signed (DESIGN §4):
 * - `POST /internal/pool/heartbeat`: a replica's state and load; it stays in rotation while its
 *   beats keep arriving (out after 3 s of silence).
 * - `POST /internal/usage`: usage records from an origin's outbox, inserted idempotently on
 *   (replica_id, request_id); answers `{accepted, duplicates}` so redelivery is visible.
 */
import { Hono } from 'hono';
import { ApiError, fromZodError } from '#shared/errors.ts';
import { Heartbeat, INTERNAL_PATHS } from '#shared/protocol.ts';
import { parseJson } from '#shared/request-body.ts';
import type { ReplayWindow } from '#shared/signing.ts';
import { UsageBatch } from '#shared/usage.ts';
import type { EdgeEnv } from '../context.ts';
import { signedInternal } from '../middleware/signed/signed.ts';
import type { Clock, Ledger, PoolView } from '../ports.ts';

export interface InternalDeps {
  pool: PoolView;
  ledger: Ledger;
  clock: Clock;
  keyring: ReadonlyMap<string, string>;
  maxBodyBytes: number;
  replayWindow?: ReplayWindow;
}

/** The internal routes, to be mounted at the root (paths come from protocol.ts). */
export function internalRoutes(deps: InternalDeps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  const signed = signedInternal({ keyring: deps.keyring, clock: deps.clock, maxBodyBytes: deps.maxBodyBytes, replayWindow: deps.replayWindow });

  app.post(INTERNAL_PATHS.heartbeat, signed, async (c) => {
    const parsed = Heartbeat.safeParse(parseJson(c.get('signedBody')));
    if (!parsed.success) throw fromZodError(parsed.error);
    const protocol = new URL(parsed.data.url).protocol;
    if (protocol !== 'http:' && protocol !== 'https:') throw new ApiError('invalid_request_error', 'Replica url must be http(s).', { param: 'url' });
    await deps.pool.upsert(parsed.data, deps.clock.now());
    return c.json({ ok: true });
  });

  app.post(INTERNAL_PATHS.usage, signed, async (c) => {
    const parsed = UsageBatch.safeParse(parseJson(c.get('signedBody')));
    if (!parsed.success) throw fromZodError(parsed.error);
    const result = await deps.ledger.insert(parsed.data.records, deps.clock.now());
    return c.json(result);
  });

  return app;
}
