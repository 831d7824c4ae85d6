/**
 * Internal endpoints origins call, both signed (DESIGN §4):
 * - `POST /internal/pool/heartbeat`: a replica's state and load; it stays in rotation while its
 *   beats keep arriving (out after 3 s of silence).
 * - `POST /internal/usage`: usage records from an origin's outbox, inserted idempotently on
 *   (replica_id, request_id); answers `{accepted, duplicates}` so redelivery is visible. Each
 *   record also settles the rate-limit lease of its request id (the edge's upstream request id)
 *   when the edge did not see the usage itself; a lease already settled ignores it.
 *
 * Both are signed with node keys, and a key speaks only for its own node's replicas
 * (trust/node-keys.ts). A heartbeat's `ts` must lie within the signing skew of the edge's clock
 * (a future-dated beat would otherwise outrank the real replica's beats for as long as it lies),
 * and its url must be on the origin allow-list (trust/origin-allow-list.ts).
 */
import { Hono } from 'hono';
import type { Digests } from '#shared/digests.ts';
import { ApiError, fromZodError } from '#shared/errors.ts';
import { Heartbeat, INTERNAL_PATHS } from '#shared/protocol.ts';
import { parseJson } from '#shared/request-body.ts';
import { MAX_SKEW_MS, type ReplayWindow } from '#shared/signing.ts';
import { UsageBatch, type UsageRecord } from '#shared/usage.ts';
import type { EdgeEnv } from '../context.ts';
import { signedInternal } from '../middleware/signed/signed.ts';
import type { Clock, Ledger, Limiter, PoolView, SettledLease } from '../ports.ts';
import { assertMaySpeakFor, type NodeKeys } from '../trust/node-keys.ts';
import { assertOriginAllowed, type OriginAllowList } from '../trust/origin-allow-list.ts';

export interface InternalDeps {
  pool: PoolView;
  ledger: Ledger;
  /** Settles rate-limit leases the edge could not settle itself (aborted or failed streams). */
  limiter: Limiter;
  clock: Clock;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  nodeKeys: NodeKeys;
  originAllow: OriginAllowList;
  maxBodyBytes: number;
  replayWindow?: ReplayWindow;
  digests?: Digests;
}

/** The internal routes, to be mounted at the root (paths come from protocol.ts). */
export function internalRoutes(deps: InternalDeps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  const signed = signedInternal({
    keyring: deps.nodeKeys.ring,
    clock: deps.clock,
    maxBodyBytes: deps.maxBodyBytes,
    replayWindow: deps.replayWindow,
    digests: deps.digests,
  });

  app.post(INTERNAL_PATHS.heartbeat, signed, async (c) => {
    const parsed = Heartbeat.safeParse(parseJson(c.get('signedBody')));
    if (!parsed.success) throw fromZodError(parsed.error);
    const hb = parsed.data;
    assertMaySpeakFor(deps.nodeKeys, c.get('signedBy'), hb.replica_id, hb.node_id);
    const now = deps.clock.now();
    if (Math.abs(hb.ts - now) > MAX_SKEW_MS)
      throw new ApiError('invalid_request_error', `Heartbeat ts is ${hb.ts - now} ms off the edge's clock (allowed: ±${MAX_SKEW_MS} ms).`, { param: 'ts' });
    assertOriginAllowed(deps.originAllow, hb.url);
    await deps.pool.upsert(hb, now);
    return c.json({ ok: true });
  });

  app.post(INTERNAL_PATHS.usage, signed, async (c) => {
    const parsed = UsageBatch.safeParse(parseJson(c.get('signedBody')));
    if (!parsed.success) throw fromZodError(parsed.error);
    for (const r of parsed.data.records) assertMaySpeakFor(deps.nodeKeys, c.get('signedBy'), r.replica_id);
    const result = await deps.ledger.insert(parsed.data.records, deps.clock.now());
    await reconcileLeases(deps, parsed.data.records);
    return c.json(result);
  });

  return app;
}

/**
 * Charge each record's tokens to its request's lease, one call per tenant. A failure is logged,
 * not answered with an error: the ledger (billing) has the records, and an unsettled lease
 * expires with its reservation charged, so a redelivery must not be provoked for it.
 */
async function reconcileLeases(deps: InternalDeps, records: UsageRecord[]): Promise<void> {
  const now = deps.clock.now();
  const byTenant = new Map<string, SettledLease[]>();
  for (const r of records) {
    const list = byTenant.get(r.tenant_id) ?? [];
    list.push({ leaseId: r.request_id, usedTokens: r.prompt_tokens + r.completion_tokens });
    byTenant.set(r.tenant_id, list);
  }
  await Promise.all(
    [...byTenant].map(([tenant, settled]) =>
      deps.limiter.reconcile(tenant, settled, now).catch((err: unknown) => deps.log('settling rate-limit leases failed', { tenant, error: String(err) })),
    ),
  );
}
