/**
 * The usage journal's storage port. While a request runs, the origin keeps one journal row for
 * it (who, what, prompt tokens, completion tokens handed to the client so far); the request's
 * final usage record replaces that row in one transaction. Rows still present when their writer
 * is gone (the process was killed) are finalized by the next process as outcome `error`.
 *
 * Stores apply operations in call order. The SQLite adapter lives in `adapters/node/`; the
 * in-memory store below serves tests and runs without a data dir.
 */
import { UsageRecord } from '#shared/usage.ts';
import type { JournalRow, JournalStore } from '../ports.ts';
import type { createMemoryOutbox } from './outbox.ts';

/**
 * The record for a request whose process died: outcome `error`, the counts of its last
 * checkpoint (never more than the client was handed), ended at that checkpoint. A request that
 * had handed out no completion token bills nothing: the client got nothing (a JSON body leaves
 * only with its final record), and the edge, seeing the connection fail before any response,
 * may already have failed it over to another replica, which bills it; billing its prompt here
 * too would charge it twice.
 */
export function recoveredRecord(row: JournalRow): UsageRecord {
  const delivered = row.completionTokens > 0;
  return UsageRecord.parse({
    request_id: row.requestId,
    replica_id: row.replicaId,
    tenant_id: row.tenantId,
    key_id: row.keyId,
    model: row.model,
    revision: row.revision,
    endpoint: row.endpoint,
    prompt_tokens: delivered ? row.promptTokens : 0,
    cached_tokens: delivered ? Math.min(row.cachedTokens, row.promptTokens) : 0,
    completion_tokens: row.completionTokens,
    outcome: 'error',
    started_at: row.startedAt,
    finished_at: Math.max(row.startedAt, row.checkpointedAt),
  });
}

const keyOf = (replicaId: string, requestId: string) => `${replicaId}\n${requestId}`;

export interface MemoryJournalStore extends JournalStore {
  /** Current rows (for tests). */
  readonly rows: readonly JournalRow[];
}

/**
 * An in-memory journal store over an in-memory outbox. `inherited` rows stand for what a previous
 * process left behind: `recover` finalizes those, never rows this store wrote itself.
 */
export function createMemoryJournalStore(outbox: ReturnType<typeof createMemoryOutbox>, inherited: readonly JournalRow[] = []): MemoryJournalStore {
  const rows = new Map<string, { row: JournalRow; own: boolean }>();
  for (const r of inherited) rows.set(keyOf(r.replicaId, r.requestId), { row: { ...r }, own: false });
  const outboxHas = (rec: UsageRecord) => outbox.all.some((e) => e.record.replica_id === rec.replica_id && e.record.request_id === rec.request_id);
  return {
    get rows() {
      return [...rows.values()].map((r) => r.row);
    },
    async write(batch) {
      for (const r of batch) rows.set(keyOf(r.replicaId, r.requestId), { row: { ...r }, own: true });
    },
    async complete(rec) {
      rows.delete(keyOf(rec.replica_id, rec.request_id));
      const had = outboxHas(rec);
      // The memory outbox applies an append before its promise settles, so call order holds.
      await outbox.append(rec);
      return !had;
    },
    async recover(finalize) {
      const out: UsageRecord[] = [];
      for (const [k, r] of rows) {
        if (r.own) continue;
        const rec = finalize(r.row);
        rows.delete(k);
        await outbox.append(rec);
        out.push(rec);
      }
      return out;
    },
  };
}
