/**
 * In-memory Ledger for tests: the same semantics as the SQL ledgers (idempotent on
 * (replica_id, request_id), grouping by UTC day, key or model).
 */
import type { UsageRecord, UsageRow } from '#shared/usage.ts';
import type { Ledger, LedgerInsertResult, UsageQueryInput } from '../../ports.ts';
import { groupKey } from '../../usage/usage-query.ts';

/** Create an in-memory ledger. */
export function memoryLedger(): Ledger & { size(): number } {
  const rows = new Map<string, UsageRecord>();
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
    async query(tenantId: string, q: UsageQueryInput): Promise<UsageRow[]> {
      const groups = new Map<string, UsageRow>();
      for (const r of rows.values()) {
        if (r.tenant_id !== tenantId) continue;
        if (q.fromMs !== undefined && r.finished_at < q.fromMs) continue;
        if (q.toMs !== undefined && r.finished_at >= q.toMs) continue;
        const g = groupKey(r, q.groupBy);
        const row = groups.get(g) ?? { group: g, requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
        row.requests++;
        row.prompt_tokens += r.prompt_tokens;
        row.completion_tokens += r.completion_tokens;
        row.total_tokens += r.prompt_tokens + r.completion_tokens;
        groups.set(g, row);
      }
      return [...groups.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    },
    size: () => rows.size,
  };
}
