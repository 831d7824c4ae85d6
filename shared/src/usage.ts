/**
 * Usage records: the origin is the billing authority and writes exactly one per request it
 * received (finish | stop | abort | error | refused), keyed by the edge-assigned request id. The
 * ledger inserts idempotently on (replica_id, request_id), so redelivery never double-bills, and
 * bills at most one record per (tenant_id, request_id), so a failover never bills twice.
 */
import { z } from 'zod';

/**
 * How a request ended on a replica. `refused`: the replica answered it before its engine started
 * (busy, draining, bad request, deadline already passed…): no generation, not a billed request.
 * It is stored (and counted apart) so refusals stay visible; origins older than it send `error`.
 * `cached`: the edge answered it from its response cache (replica `edge-cache`): a billed request,
 * its prompt tokens all reported as cached, counted in `requests` and again in `cache_hits`.
 */
export const UsageOutcome = z.enum(['finish', 'stop', 'abort', 'error', 'refused', 'cached']);
export type UsageOutcome = z.infer<typeof UsageOutcome>;

/** Far above any context length, far below where a ledger SUM over many records could overflow. */
const tokens = z.number().int().min(0).max(1_000_000_000);
/** Unix ms between 1970 and 2286: a JavaScript Date and the ledger's day grouping hold it. */
const unixMs = z.number().int().min(0).max(9_999_999_999_999);

export const UsageRecord = z.object({
  request_id: z.string().min(1).max(128),
  replica_id: z.string().min(1).max(128),
  tenant_id: z.string().min(1).max(128),
  key_id: z.string().max(128),
  model: z.string(),
  revision: z.string(),
  endpoint: z.enum(['chat.completions', 'completions']),
  prompt_tokens: tokens,
  cached_tokens: tokens.default(0),
  completion_tokens: tokens,
  outcome: UsageOutcome,
  started_at: unixMs,
  finished_at: unixMs,
});
export type UsageRecord = z.infer<typeof UsageRecord>;

/** A batch as delivered by an origin's outbox. */
export const UsageBatch = z.object({ records: z.array(UsageRecord).min(1).max(1000) });
export type UsageBatch = z.infer<typeof UsageBatch>;

export const UsageGroupBy = z.enum(['day', 'hour', 'key', 'model']);
export type UsageGroupBy = z.infer<typeof UsageGroupBy>;

export const UsageQuery = z.object({
  from: z.coerce.number().int().optional(),
  to: z.coerce.number().int().optional(),
  group_by: UsageGroupBy.default('day'),
});
export type UsageQuery = z.infer<typeof UsageQuery>;

/**
 * One group of billed usage: `requests` counts client requests billed (one per request id, a
 * failover's extra records and refusals excluded); `refused` counts refusals apart;
 * `cache_hits` counts the billed requests the edge's response cache answered (a part of
 * `requests`, as `cached_tokens` is a part of `prompt_tokens`). `day` groups
 * are `YYYY-MM-DD`, `hour` groups `YYYY-MM-DDTHH:00:00Z` (UTC, of `finished_at`).
 */
export const UsageRow = z.object({
  group: z.string(),
  requests: z.number().int(),
  prompt_tokens: z.number().int(),
  cached_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  refused: z.number().int(),
  cache_hits: z.number().int(),
});
export type UsageRow = z.infer<typeof UsageRow>;
