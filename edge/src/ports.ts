/**
 * The edge's ports (DESIGN §2, §8): the small interfaces the Hono app is built from. Every port
 * has an in-memory implementation (adapters/memory) for tests and local runs; the composition
 * roots choose durable ones (adapters/node: SQLite; adapters/cloudflare: Durable Objects).
 * Nothing here imports a runtime.
 */
import type { Heartbeat } from '#shared/protocol.ts';
import type { UsageGroupBy, UsageRecord, UsageRow } from '#shared/usage.ts';

/** Time source; injected so heartbeat expiry and rate limits are testable without sleeping. */
export type { Clock } from '#shared/clock.ts';

/** Who is calling: the result of a successful API-key or JWT authentication. */
export interface Principal {
  tenantId: string;
  /** The key's id; `jwt:<sub>` for a JWT caller. */
  keyId: string;
  scopes: string[];
  /** The limits that apply to this caller's requests (tenant and key records, resolved at auth). */
  limits: PrincipalLimits;
}

/**
 * Limits resolved for one principal; null = the edge's configured default, 0 = unlimited.
 * Per-key rpm/tpm apply on top of the tenant's; concurrency and the monthly quota are per tenant.
 */
export interface PrincipalLimits {
  tenant: { rpm: number | null; tpm: number | null; maxConcurrent: number | null };
  key: { rpm: number | null; tpm: number | null };
  monthlyTokens: number | null;
}

/**
 * Hash of a key secret: HMAC-SHA256 under the server pepper, hex. A port so each runtime picks
 * its fastest primitive (Node: synchronous node:crypto; Worker: Web Crypto).
 */
export type KeyHasher = (secret: string) => string | Promise<string>;

/** A tenant: who is billed, with its limits and monthly quota. */
export interface TenantRecord {
  id: string;
  name: string | null;
  limits: PrincipalLimits['tenant'];
  monthlyTokens: number | null;
  createdAt: number;
  /** Epoch ms since when the tenant authenticates nothing; null = enabled. */
  disabledAt: number | null;
}

/** Fields of a tenant an operator may change; absent = unchanged. */
export interface TenantUpdate {
  name?: string | null;
  limits?: Partial<PrincipalLimits['tenant']>;
  monthlyTokens?: number | null;
  disabled?: boolean;
}

/** A stored API key. The secret itself is never stored: only its peppered hash and a visible prefix. */
export interface ApiKeyRecord {
  keyId: string;
  tenantId: string;
  /** Hex HMAC-SHA256 of the full secret under the server pepper (KeyHasher). */
  hash: string;
  /** The first characters of the secret, shown in listings (`mtf_live_abc…`). */
  prefix: string;
  /** The last four characters of the secret, shown in listings. */
  last4: string;
  name: string | null;
  scopes: string[];
  limits: PrincipalLimits['key'];
  createdAt: number;
  /** Epoch ms from which the key no longer authenticates; null = no expiry. */
  expiresAt: number | null;
  /** Epoch ms from which the key is revoked; null = active. */
  revokedAt: number | null;
  /** Epoch ms of the last authenticated use, updated at most once a minute. */
  lastUsedAt: number | null;
}

/** What a hash lookup finds: the principal and the stored hash (compared in constant time). */
export interface KeyMatch {
  principal: Principal;
  hash: string;
  /** Epoch ms when the match ends by time alone (key-record.ts matchEndsAt); rechecked, so a cached match cannot outlive the key. */
  expiresAt: number | null;
}

export interface KeyStore {
  /** The match of a usable key with this hash (not revoked or expired at `now`, tenant enabled), or null. */
  findByHash(hash: string, now: number): Promise<KeyMatch | null>;
  /** Insert or replace a key (by keyId); creates its tenant if missing (seeding, tests). */
  putKey(record: ApiKeyRecord): Promise<void>;
  /** Record a use of the key (callers throttle: at most once a minute per key). */
  touchKey(keyId: string, at: number): Promise<void>;

  /** Create a tenant; false if the id is taken. */
  createTenant(tenant: TenantRecord): Promise<boolean>;
  getTenant(id: string): Promise<TenantRecord | null>;
  /** Every tenant, disabled ones included, sorted by id. */
  listTenants(): Promise<TenantRecord[]>;
  /** Apply `update`; the updated tenant, or null if unknown. */
  updateTenant(id: string, update: TenantUpdate, now: number): Promise<TenantRecord | null>;
  /** Soft delete: disable the tenant and revoke its keys at `now`; false if unknown. */
  deleteTenant(id: string, now: number): Promise<boolean>;

  getKey(keyId: string): Promise<ApiKeyRecord | null>;
  /** A tenant's keys, revoked ones included, oldest first. */
  listKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Revoke at `now` (an earlier revocation stands); the key after, or null if unknown. */
  revokeKey(keyId: string, now: number): Promise<ApiKeyRecord | null>;
  /**
   * Insert `next` and retire `oldKeyId` at `retireAt` (its expiry, or its revocation when
   * `retireAt` <= now), in one transaction. The old key after, or null if unknown.
   */
  rotateKey(oldKeyId: string, next: ApiKeyRecord, retireAt: number, now: number): Promise<ApiKeyRecord | null>;
}

export interface RateWindow {
  limit: number;
  remaining: number;
  /** Milliseconds until the window is fully replenished. */
  resetMs: number;
}

/** A lease and the tokens its request used, as an origin's usage record reports them. */
export interface SettledLease {
  leaseId: string;
  usedTokens: number;
}

/** Which limit refused a request. */
export type LimitReason = 'requests' | 'tokens' | 'concurrency' | 'quota';

/** The limits in force for one request, defaults applied; 0 = unlimited. */
export interface EffectiveLimits {
  tenantRpm: number;
  tenantTpm: number;
  keyRpm: number;
  keyTpm: number;
  maxConcurrent: number;
  monthlyTokens: number;
}

/** One request asking to start: it becomes a lease named by the edge's upstream request id. */
export interface Admission {
  leaseId: string;
  tenantId: string;
  keyId: string;
  limits: EffectiveLimits;
  /** Tokens reserved now and reconciled with what the request really used when it ends. */
  reserveTokens: number;
  now: number;
  /** Epoch ms after which a lease never finished or reconciled stops holding a slot and stays charged. */
  expiresAt: number;
}

export interface LimitDecision {
  allowed: boolean;
  /** The limit that refused the request; null when allowed. */
  reason: LimitReason | null;
  /** The most restrictive of the tenant and key windows; null = unlimited. */
  requests: RateWindow | null;
  tokens: RateWindow | null;
  /** When denied for a rate: milliseconds until a retry can succeed (0 for a quota). */
  retryAfterMs: number;
  /** Present when refused for concurrency or quota: the limit and what is in use. */
  detail?: { limit: number; used: number };
}

/**
 * Exact per-tenant and per-key limits (requests/min, tokens/min, concurrent requests, monthly
 * tokens), shared by every edge process or isolate. Each call is one transaction in the store.
 */
export interface Limiter {
  /** Admit a request (taking a request unit, reserving tokens, holding a slot) or refuse it. */
  admit(a: Admission): Promise<LimitDecision>;
  /**
   * The response ended: release the lease's concurrency slot. With `usedTokens` the lease is
   * reconciled now; with null it waits for the origin's usage record (aborted or failed streams).
   */
  finish(tenantId: string, leaseId: string, usedTokens: number | null, now: number): Promise<void>;
  /**
   * Reconcile leases of one tenant from origins' usage records (a batch: one transaction, one
   * object call); a lease already reconciled or expired is ignored.
   */
  reconcile(tenantId: string, settled: readonly SettledLease[], now: number): Promise<void>;
  /** The current windows without taking anything (for the headers of a request refused before admission). */
  windows(tenantId: string, keyId: string, limits: EffectiveLimits, now: number): Promise<Pick<LimitDecision, 'requests' | 'tokens'>>;
}

/** A range of `finished_at`. */
export interface UsageRange {
  /** Inclusive lower bound on `finished_at`, epoch ms. */
  fromMs?: number;
  /** Exclusive upper bound on `finished_at`, epoch ms. */
  toMs?: number;
}

/** What usage can be grouped by: the public groupings, and (admin only) the tenant. */
export type LedgerGroupBy = UsageGroupBy | 'tenant';

export interface UsageQueryInput extends UsageRange {
  groupBy: LedgerGroupBy;
}

/** Billed usage of one tenant × model × UTC hour (of `finished_at`). */
export interface HourlyUsage {
  tenant_id: string;
  model: string;
  /** Epoch ms, on the hour. */
  hour_start: number;
  requests: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  /** Of `requests`, those the edge's response cache answered (outcome `cached`). */
  cache_hits: number;
}

export interface LedgerInsertResult {
  accepted: number;
  duplicates: number;
}

export interface Ledger {
  /**
   * Insert usage records idempotently on (replica_id, request_id); of one (tenant_id, request_id)
   * exactly one record bills (usage/billable.ts), whatever order they arrive in.
   */
  insert(records: UsageRecord[], receivedAt: number): Promise<LedgerInsertResult>;
  /** Billed usage of one tenant (or, undefined, of every tenant), grouped; rows sorted by group. */
  query(tenantId: string | undefined, q: UsageQueryInput): Promise<UsageRow[]>;
  /**
   * Billed usage per tenant × model × UTC hour of one tenant (or every tenant), sorted by hour,
   * tenant, model; at most `limit` rows (when there are more, which ones is unspecified: callers
   * ask for one more than they accept, to detect that).
   */
  hourly(tenantId: string | undefined, range: UsageRange, limit: number): Promise<HourlyUsage[]>;
}

/** One replica as the pool registry knows it. */
export interface PoolEntry {
  heartbeat: Heartbeat;
  /** Edge-clock time the last heartbeat arrived (origin clocks are not trusted for expiry). */
  lastSeen: number;
  /** Edge-clock time this replica was first seen (a model's `created`). */
  firstSeen: number;
  /**
   * Edge-clock time an operator drained the replica (`POST /admin/replicas/{id}/drain`), null
   * when it is not drained. A drained replica stays listed, its heartbeats still update its load,
   * but it is out of rotation for new requests until undrained; heartbeats never clear it.
   */
  drainedAt: number | null;
}

export interface PoolView {
  /**
   * Record a heartbeat received at `receivedAt`. A beat whose `ts` is older than the stored one
   * is ignored, so a delayed or replayed beat cannot resurrect a replica's old state.
   */
  upsert(hb: Heartbeat, receivedAt: number): Promise<void>;
  /**
   * Replicas heard from within the retention window (longer than the 3 s heartbeat TTL, so a
   * model whose replicas are all down answers 503, not 404). Callers decide liveness.
   */
  list(now: number): Promise<PoolEntry[]>;
  /**
   * Drain (`drained: true`, stamped `now` unless already drained) or undrain a listed replica.
   * Returns the entry as it now is, or null when no replica with that id is listed.
   */
  setDrained(replicaId: string, drained: boolean, now: number): Promise<PoolEntry | null>;
}

/**
 * Storage of the response cache (cache/README.md): serialized entries by key, each kept at most
 * `ttlMs`. Adapters bound what they hold (Node: an LRU bounded in entries and bytes; Workers: the
 * Cache API of the data centre). A store may forget any entry at any time; a failure is a miss.
 */
export interface ResponseCacheStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string, ttlMs: number): Promise<void>;
}

/** A stored Responses API response (responses/stored.ts): the object and its conversation's items, as JSON. */
export interface StoredResponse {
  tenantId: string;
  id: string;
  createdAt: number;
  expiresAt: number;
  response: string;
  items: string;
}

/** Stored responses, by tenant: `get` finds neither another tenant's nor an expired one; `delete` says whether one existed. */
export interface ResponseStore {
  put(record: StoredResponse): Promise<void>;
  get(tenantId: string, id: string, now: number): Promise<StoredResponse | null>;
  delete(tenantId: string, id: string): Promise<boolean>;
}
