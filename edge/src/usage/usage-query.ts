/**
 * `GET /v1/usage` query handling, pure: the public query (shared/usage.ts `UsageQuery`) becomes
 * the ledger's epoch-ms range, and records are grouped by UTC day, key or model.
 *
 * `from`/`to` accept unix seconds (as OpenAI's usage API does) or epoch milliseconds: a value
 * below 10^12 is read as seconds. Both readings cannot be meant for the same number: 10^12 ms is
 * September 2001, 10^12 s is 33 000 years from now.
 */
import { ApiError } from '#shared/errors.ts';
import type { UsageGroupBy, UsageQuery, UsageRecord } from '#shared/usage.ts';
import type { UsageQueryInput } from '../ports.ts';

const SECONDS_BELOW = 1e12;

/** Epoch ms from a `from`/`to` value in seconds or ms. */
export function toEpochMs(v: number): number {
  return Math.abs(v) < SECONDS_BELOW ? v * 1000 : v;
}

/** The ledger query for a validated public query; rejects an empty range. */
export function toLedgerQuery(q: UsageQuery): UsageQueryInput {
  const out: UsageQueryInput = { groupBy: q.group_by };
  if (q.from !== undefined) out.fromMs = toEpochMs(q.from);
  if (q.to !== undefined) out.toMs = toEpochMs(q.to);
  if (out.fromMs !== undefined && out.toMs !== undefined && out.toMs <= out.fromMs) {
    throw new ApiError('invalid_request_error', "'to' must be after 'from'.", { param: 'to' });
  }
  return out;
}

/** The group a record falls in (`day` = UTC date of `finished_at`). */
export function groupKey(r: UsageRecord, by: UsageGroupBy): string {
  switch (by) {
    case 'day':
      return new Date(r.finished_at).toISOString().slice(0, 10);
    case 'key':
      return r.key_id;
    case 'model':
      return r.model;
  }
}
