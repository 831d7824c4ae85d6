/**
 * The usage outbox port: the origin writes every terminal usage record here before the response
 * ends, and a deliverer drains it to the edge's ledger. An in-memory implementation serves tests
 * and throwaway runs; durable adapters (SQLite) live in `adapters/`.
 */
import type { UsageRecord } from '#shared/usage.ts';
import type { JournalTokens, RunJournal } from './journal.ts';
import type { UsageMeta } from './tracker.ts';

/** A record waiting for delivery; `id` is the outbox's own sequence number. */
export interface OutboxEntry {
  id: number;
  record: UsageRecord;
}

export interface UsageOutbox {
  /**
   * Store a record durably. A second record with the same (replica_id, request_id) is ignored:
   * the first one wins, exactly as the ledger deduplicates.
   */
  append(rec: UsageRecord): Promise<void>;
  /** Oldest undelivered records first, at most `limit`. */
  pending(limit: number): Promise<OutboxEntry[]>;
  /** Mark entries as acknowledged by the ledger; unknown ids are ignored. */
  markDelivered(ids: readonly number[]): Promise<void>;
}

/** Where the server puts finished usage records (usually an outbox that also wakes the deliverer). */
export interface UsageSink {
  append(rec: UsageRecord): Promise<void>;
  /**
   * Optional crash journal (`journal.ts`): when present, every run is registered here when it
   * starts, and its record goes through the returned handle instead of `append`.
   */
  begin?(meta: UsageMeta, startedAt: number, tokens: JournalTokens): RunJournal;
}

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
      return entries.filter((e) => !e.delivered).slice(0, limit).map(({ id, record }) => ({ id, record }));
    },
    async markDelivered(ids) {
      const set = new Set(ids);
      for (const e of entries) if (set.has(e.id)) e.delivered = true;
    },
  };
}
