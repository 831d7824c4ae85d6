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

/** Who is calling: the result of a successful API-key lookup. */
export interface Principal {
  tenantId: string;
  keyId: string;
  scopes: string[];
  /** The limits that apply to this caller's requests (tenant and key records, resolved at auth). */
  limits?: PrincipalLimits;
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

/** A stored API key. The secret itself is never stored: only its sha256 and a visible prefix. */
export interface ApiKeyRecord {
  keyId: string;
  tenantId: string;
  /** Hex sha256 of the full secret. */
  hash: string;
  /** The first characters of the secret, shown in listings (`sk-motif-abc…`). */
  prefix: string;
  /** The last four characters of the secret, shown in listings. */
  last4: string;
  scopes: string[];
  createdAt: number;
  /** Epoch ms after which the key no longer authenticates; null = active. */
  revokedAt: number | null;
}

export interface KeyStore {
  /** The principal of an active key with this hash, or null (unknown, revoked, tenant disabled). */
  findByHash(hash: string, now: number): Promise<Principal | null>;
  /** Insert or replace a key (by keyId); creates its tenant if missing. */
  putKey(record: ApiKeyRecord): Promise<void>;
  /** Every tenant, sorted by id (the cross-tenant usage views ask each one's ledger). */
  listTenants(): Promise<{ id: string }[]>;
}

export interface RateWindow {
  limit: number;
  remaining: number;
  /** Milliseconds until the window is fully replenished. */
  resetMs: number;
}

export interface LimitDecision {
  allowed: boolean;
  /** null = no limit configured for this dimension. */
  requests: RateWindow | null;
  tokens: RateWindow | null;
  /** When denied: milliseconds until a retry can succeed. */
  retryAfterMs: number;
}

export interface Limiter {
  /** Admit one request for `subject` (a tenant) or deny it; an admitted request is counted. */
  admit(subject: string, now: number): Promise<LimitDecision>;
  /** Charge tokens actually used (read from the origin's usage) against `subject`'s token budget. */
  charge(subject: string, tokens: number, now: number): Promise<void>;
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
}
