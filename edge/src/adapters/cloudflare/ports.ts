/**
 * Thin port implementations over the Durable Objects: each call is one RPC to the right object
 * (keys and pool: one global instance; ledger and limiter: one per tenant; the replay window:
 * one of a few shards, by request id).
 */
import type { DurableObjectNamespace } from '@cloudflare/workers-types';
import type { ReplayWindow } from '#shared/signing.ts';
import type { UsageRecord, UsageRow } from '#shared/usage.ts';
import type {
  ApiKeyRecord,
  HourlyUsage,
  KeyMatch,
  KeyStore,
  Ledger,
  Limiter,
  PoolEntry,
  PoolView,
  ResponseStore,
  StoredResponse,
  TenantRecord,
} from '../../ports.ts';
import { mergeUsageRows, sortHourly } from '../../usage/usage-query.ts';
import type { KeysDO } from './keys-do.ts';
import type { LedgerDO } from './ledger-do.ts';
import type { LimiterDO } from './limiter-do.ts';
import type { PoolDO } from './pool-do.ts';
import type { ReplayDO } from './replay-do.ts';

const GLOBAL = 'global';

/** KeyStore backed by the keys DO. */
export function doKeyStore(ns: DurableObjectNamespace<KeysDO>): KeyStore {
  const stub = () => ns.get(ns.idFromName(GLOBAL));
  // RPC results come back as structured clones typed by the DO's methods; they are plain data.
  return {
    findByHash: async (hash, now) => (await stub().findByHash(hash, now)) as KeyMatch | null,
    putKey: async (record) => stub().putKey(record),
    touchKey: async (keyId, at) => stub().touchKey(keyId, at),
    createTenant: async (t) => stub().createTenant(t),
    getTenant: async (id) => (await stub().getTenant(id)) as TenantRecord | null,
    listTenants: async () => (await stub().listTenants()) as TenantRecord[],
    updateTenant: async (id, u, now) => (await stub().updateTenant(id, u, now)) as TenantRecord | null,
    deleteTenant: async (id, now) => stub().deleteTenant(id, now),
    getKey: async (keyId) => (await stub().getKey(keyId)) as ApiKeyRecord | null,
    listKeys: async (tenantId) => (await stub().listKeys(tenantId)) as ApiKeyRecord[],
    revokeKey: async (keyId, now) => (await stub().revokeKey(keyId, now)) as ApiKeyRecord | null,
    rotateKey: async (oldKeyId, next, retireAt, now) => (await stub().rotateKey(oldKeyId, next, retireAt, now)) as ApiKeyRecord | null,
  };
}

/** Tenants' ledger objects asked at once by a view over every tenant. */
const FAN_OUT = 8;

/**
 * Ledger backed by one ledger DO per tenant; a batch is split by tenant. A view over every tenant
 * asks the tenants' objects (the tenants coming from `tenants`, the key store's list) a few at a
 * time, folding each answer in before asking more, so an isolate holds one view's result and a
 * few tenants' rows, never every tenant's at once.
 */
export function doLedger(ns: DurableObjectNamespace<LedgerDO>, tenants: () => Promise<{ id: string }[]>): Ledger {
  const ledgerOf = (tenantId: string) => ns.get(ns.idFromName(tenantId));
  const scope = async (tenantId: string | undefined) => (tenantId !== undefined ? [tenantId] : (await tenants()).map((t) => t.id));
  return {
    async insert(records, receivedAt) {
      const byTenant = new Map<string, UsageRecord[]>();
      for (const r of records) byTenant.set(r.tenant_id, [...(byTenant.get(r.tenant_id) ?? []), r]);
      const results = await Promise.all([...byTenant].map(([tenant, rs]) => ns.get(ns.idFromName(tenant)).insert(rs, receivedAt)));
      return results.reduce((a, r) => ({ accepted: a.accepted + r.accepted, duplicates: a.duplicates + r.duplicates }), { accepted: 0, duplicates: 0 });
    },
    async query(tenantId, q) {
      if (tenantId !== undefined) return ledgerOf(tenantId).query(tenantId, q);
      const ids = await scope(undefined);
      let rows: UsageRow[] = [];
      for (let i = 0; i < ids.length; i += FAN_OUT) {
        rows = mergeUsageRows([rows, ...(await Promise.all(ids.slice(i, i + FAN_OUT).map((t) => ledgerOf(t).query(t, q))))]);
      }
      return rows;
    },
    async hourly(tenantId, range, limit) {
      const ids = await scope(tenantId);
      const rows: HourlyUsage[] = [];
      // Past `limit` rows the caller refuses the export: stop asking once there are that many.
      for (let i = 0; i < ids.length && rows.length < limit; i += FAN_OUT) {
        const remaining = limit - rows.length;
        for (const list of await Promise.all(ids.slice(i, i + FAN_OUT).map((t) => ledgerOf(t).hourly(t, range, remaining)))) for (const r of list) rows.push(r);
      }
      return sortHourly(rows).slice(0, limit);
    },
  };
}

/** Stored Responses API responses in each tenant's ledger DO (one object per tenant, as its usage). */
export function doResponseStore(ns: DurableObjectNamespace<LedgerDO>): ResponseStore {
  const of = (tenantId: string) => ns.get(ns.idFromName(tenantId));
  return {
    put: async (record) => of(record.tenantId).putResponse(record),
    get: async (tenantId, id, now) => (await of(tenantId).getResponse(tenantId, id, now)) as StoredResponse | null,
    delete: async (tenantId, id) => of(tenantId).deleteResponse(tenantId, id),
  };
}

export interface DoPoolOptions {
  /**
   * How long this isolate reuses the replica list (default 250 ms): every completion reads it,
   * and one global object would otherwise see every request of every isolate. Small against
   * the 3 s heartbeat TTL; an upsert or drain from this isolate drops the cached list at once
   * (other isolates stop routing to a drained replica within this time).
   */
  listCacheMs?: number;
}

/** PoolView backed by the pool DO, with a short in-isolate cache of the list. */
export function doPool(ns: DurableObjectNamespace<PoolDO>, opts: DoPoolOptions = {}): PoolView {
  const cacheMs = opts.listCacheMs ?? 250;
  if (!(cacheMs >= 0)) throw new Error('doPool: listCacheMs must be ≥ 0');
  const stub = () => ns.get(ns.idFromName(GLOBAL));
  let cached: { at: number; list: PoolEntry[] } | undefined;
  return {
    async upsert(hb, receivedAt) {
      cached = undefined;
      await stub().upsert(hb, receivedAt);
    },
    async list(now) {
      if (cached && now - cached.at >= 0 && now - cached.at < cacheMs) return cached.list;
      const list = await stub().list(now);
      cached = { at: now, list };
      return list;
    },
    async setDrained(replicaId, drained, now) {
      cached = undefined;
      return stub().setDrained(replicaId, drained, now);
    },
  };
}

/** Limiter backed by one limiter DO per tenant (the tenant's keys live in the same object). */
export function doLimiter(ns: DurableObjectNamespace<LimiterDO>): Limiter {
  const stub = (tenantId: string) => ns.get(ns.idFromName(tenantId));
  return {
    admit: async (a) => stub(a.tenantId).admit(a),
    finish: async (tenantId, leaseId, used, now) => stub(tenantId).finish(tenantId, leaseId, used, now),
    reconcile: async (tenantId, settled, now) => stub(tenantId).reconcile(tenantId, [...settled], now),
    windows: async (tenantId, keyId, limits, now) => stub(tenantId).windows(tenantId, keyId, limits, now),
  };
}

/**
 * Replay window backed by replay DOs shared by every isolate. Ids are spread over `shards`
 * objects by a hash of the id so no single object sees every internal call of the fleet.
 */
export function doReplayWindow(ns: DurableObjectNamespace<ReplayDO>, shards = 8): ReplayWindow {
  if (!Number.isInteger(shards) || shards < 1) throw new Error('doReplayWindow: shards must be a positive integer');
  return {
    check: async (id, now = Date.now()) => ns.get(ns.idFromName(`replay-${fnv1a(id) % shards}`)).claim(id, now),
  };
}

/** 32-bit FNV-1a of a string's UTF-16 code units: a stable, cheap spread (not a secret). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
