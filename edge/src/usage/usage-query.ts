/**
 * Usage query handling, pure: the public query (shared/usage.ts `UsageQuery`) and the admin
 * views' queries become the ledger's epoch-ms range, and records are grouped by UTC day or hour,
 * key, model or tenant.
 *
 * `from`/`to` accept unix seconds (as OpenAI's usage API does) or epoch milliseconds: a value
 * below 10^12 is read as seconds. Both readings cannot be meant for the same number: 10^12 ms is
 * September 2001, 10^12 s is 33 000 years from now.
 */
import { ApiError } from '#shared/errors.ts';
import type { UsageQuery, UsageRecord, UsageRow } from '#shared/usage.ts';
import type { HourlyUsage, LedgerGroupBy, UsageQueryInput } from '../ports.ts';

const SECONDS_BELOW = 1e12;
export const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The longest range the admin views answer: a year and a bit, so an export stays bounded. */
export const MAX_ADMIN_RANGE_DAYS = 400;
/** The admin views' range when `from` is not given: the last 31 days. */
export const DEFAULT_ADMIN_RANGE_DAYS = 31;

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

/**
 * The admin views' range: `to` defaults to the end of the current hour, `from` to
 * DEFAULT_ADMIN_RANGE_DAYS before `to`; longer than MAX_ADMIN_RANGE_DAYS is refused.
 */
export function toAdminRange(q: { from?: number | undefined; to?: number | undefined }, now: number): { fromMs: number; toMs: number } {
  const toMs = q.to !== undefined ? toEpochMs(q.to) : (Math.floor(now / HOUR_MS) + 1) * HOUR_MS;
  const fromMs = q.from !== undefined ? toEpochMs(q.from) : toMs - DEFAULT_ADMIN_RANGE_DAYS * DAY_MS;
  if (toMs <= fromMs) throw new ApiError('invalid_request_error', "'to' must be after 'from'.", { param: 'to' });
  if (toMs - fromMs > MAX_ADMIN_RANGE_DAYS * DAY_MS)
    throw new ApiError('invalid_request_error', `The range may span at most ${MAX_ADMIN_RANGE_DAYS} days.`, { param: 'from' });
  return { fromMs, toMs };
}

/** The group a record falls in (`day`, `hour`: UTC, of `finished_at`; as the SQL ledger writes them). */
export function groupKey(r: UsageRecord, by: LedgerGroupBy): string {
  switch (by) {
    case 'day':
      return new Date(r.finished_at).toISOString().slice(0, 10);
    case 'hour':
      return `${new Date(r.finished_at).toISOString().slice(0, 13)}:00:00Z`;
    case 'key':
      return r.key_id;
    case 'model':
      return r.model;
    case 'tenant':
      return r.tenant_id;
  }
}

/** Rows of several ledgers (one per tenant) as one list: equal groups summed, sorted by group. */
export function mergeUsageRows(lists: readonly UsageRow[][]): UsageRow[] {
  const groups = new Map<string, UsageRow>();
  for (const row of lists.flat()) {
    const prev = groups.get(row.group);
    if (!prev) {
      groups.set(row.group, { ...row });
      continue;
    }
    prev.requests += row.requests;
    prev.prompt_tokens += row.prompt_tokens;
    prev.cached_tokens += row.cached_tokens;
    prev.completion_tokens += row.completion_tokens;
    prev.total_tokens += row.total_tokens;
    prev.refused += row.refused;
    prev.cache_hits += row.cache_hits;
  }
  return [...groups.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** Hourly rows in export order: hour, tenant, model. */
export function sortHourly(rows: HourlyUsage[]): HourlyUsage[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return rows.sort((a, b) => a.hour_start - b.hour_start || cmp(a.tenant_id, b.tenant_id) || cmp(a.model, b.model));
}
