/**
 * The usage outbox port: the origin writes every terminal usage record here before the response
 * ends, and a deliverer drains it to the edge's ledger. An in-memory implementation serves tests
 * and throwaway runs; durable adapters (SQLite) live in `adapters/`.
 */
import type { OutboxEntry, UsageOutbox } from '../ports.ts';

/**
 * An in-memory outbox (tests, local runs without a data dir). Not durable: records are lost when
 * the process ends, which is why `main.ts` uses the SQLite adapter.
 */
export function createMemoryOutbox(): UsageOutbox & { readonly all: readonly (OutboxEntry & { delivered: boolean })[] } {
  const entries: (OutboxEntry & { delivered: boolean })[] = [];
  const keys = new Set<string>();
  let seq = 0;
  return {
    get all() {
      return entries;
    },
    async append(rec) {
      const key = `${rec.replica_id}\n${rec.request_id}`;
      if (keys.has(key)) return;
      keys.add(key);
      entries.push({ id: ++seq, record: rec, delivered: false });
    },
    async pending(limit) {
      return entries
        .filter((e) => !e.delivered)
        .slice(0, limit)
        .map(({ id, record }) => ({ id, record }));
    },
    async markDelivered(ids) {
      const set = new Set(ids);
      for (const e of entries) if (set.has(e.id)) e.delivered = true;
    },
  };
}
