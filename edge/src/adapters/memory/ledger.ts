/**
 * In-memory Ledger for tests: the same semantics as the SQL ledgers (idempotent on
 * (replica_id, request_id), one billable record per (tenant_id, request_id) chosen by
 * usage/billable.ts, refusals counted apart, grouping by UTC day or hour, key, model or tenant).
 */
import type { UsageRecord, UsageRow } from '#shared/usage.ts';
import type { HourlyUsage, Ledger, LedgerInsertResult, UsageQueryInput, UsageRange } from '../../ports.ts';
import { billableOf } from '../../usage/billable.ts';
import { groupKey, HOUR_MS, sortHourly } from '../../usage/usage-query.ts';

const byGroup = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Create an in-memory ledger. */
export function memoryLedger(): Ledger & { size(): number } {
  const rows = new Map<string, UsageRecord>();

  /** Records in range (of one tenant or all) and whether each bills. */
  function select(tenantId: string | undefined, range: UsageRange): { r: UsageRecord; bills: boolean }[] {
    const requests = new Map<string, UsageRecord[]>();
    for (const r of rows.values()) {
      const k = JSON.stringify([r.tenant_id, r.request_id]);
      requests.set(k, [...(requests.get(k) ?? []), r]);
    }
    const billing = new Set([...requests.values()].map((rs) => billableOf(rs)));
    return [...rows.values()]
      .filter((r) => tenantId === undefined || r.tenant_id === tenantId)
      .filter((r) => (range.fromMs === undefined || r.finished_at >= range.fromMs) && (range.toMs === undefined || r.finished_at < range.toMs))
      .map((r) => ({ r, bills: billing.has(r) }));
  }

  return {
    async insert(records: UsageRecord[]): Promise<LedgerInsertResult> {
      let accepted = 0;
      for (const r of records) {
        // JSON of the pair: no separator character can make two different pairs collide.
        const k = JSON.stringify([r.replica_id, r.request_id]);
        if (rows.has(k)) continue;
        rows.set(k, r);
        accepted++;
      }
      return { accepted, duplicates: records.length - accepted };
    },
    async query(tenantId: string | undefined, q: UsageQueryInput): Promise<UsageRow[]> {
      const groups = new Map<string, UsageRow>();
      for (const { r, bills } of select(tenantId, q)) {
        if (!bills && r.outcome !== 'refused') continue;
        const g = groupKey(r, q.groupBy);
        const row = groups.get(g) ?? {
          group: g,
          requests: 0,
          prompt_tokens: 0,
          cached_tokens: 0,
          completion_tokens: 0,
          total_tokens: 0,
          refused: 0,
          cache_hits: 0,
        };
        if (bills) {
          row.requests++;
          if (r.outcome === 'cached') row.cache_hits++;
          row.prompt_tokens += r.prompt_tokens;
          row.cached_tokens += r.cached_tokens;
          row.completion_tokens += r.completion_tokens;
          row.total_tokens += r.prompt_tokens + r.completion_tokens;
        } else row.refused++;
        groups.set(g, row);
      }
      return [...groups.values()].sort((a, b) => byGroup(a.group, b.group));
    },
    async hourly(tenantId: string | undefined, range: UsageRange, limit: number): Promise<HourlyUsage[]> {
      const groups = new Map<string, HourlyUsage>();
      for (const { r, bills } of select(tenantId, range)) {
        if (!bills) continue;
        const hour = Math.floor(r.finished_at / HOUR_MS) * HOUR_MS;
        const k = JSON.stringify([hour, r.tenant_id, r.model]);
        const row = groups.get(k) ?? {
          tenant_id: r.tenant_id,
          model: r.model,
          hour_start: hour,
          requests: 0,
          prompt_tokens: 0,
          cached_tokens: 0,
          completion_tokens: 0,
          cache_hits: 0,
        };
        row.requests++;
        if (r.outcome === 'cached') row.cache_hits++;
        row.prompt_tokens += r.prompt_tokens;
        row.cached_tokens += r.cached_tokens;
        row.completion_tokens += r.completion_tokens;
        groups.set(k, row);
      }
      return sortHourly([...groups.values()]).slice(0, limit);
    },
    size: () => rows.size,
  };
}
