/**
 * What the origin does when its usage store cannot be written (disk full, I/O errors): a billing
 * service must never serve a request whose usage it cannot record, and must never drop the record
 * of one it already served.
 * - A request that already ran when a write failed keeps its final record in memory here; the
 *   deliverer sends held records to the edge's ledger like outbox entries (the ledger is then the
 *   durable copy), and a timer writes them to the store once it takes writes again.
 * - From the first failed write until a write succeeds again, `writable()` is false and the
 *   server refuses new requests with a retryable 503 (the edge fails them over to another
 *   replica), so what is held is bounded by the requests already running.
 * A held record that was delivered from memory is still written to the store later (its write
 * also drops the request's journal row); the ledger deduplicates that redelivery.
 */
import type { UsageRecord } from '#shared/usage.ts';
import type { JournalStore, OutboxEntry, UsageOutbox } from '../ports.ts';

export interface UsageStoreParts {
  journal: JournalStore;
  outbox: UsageOutbox;
  /** A small write that succeeds only if the store takes writes again. */
  probe(): Promise<void>;
}

export interface HeldRecordsOptions {
  /** How often to retry writing held records (or probing) while the store fails. */
  retryMs?: number;
  log?: (line: string) => void;
}

export interface HeldRecordsStore {
  journal: JournalStore;
  outbox: UsageOutbox;
  /** False from a failed write until a write succeeds again: refuse new requests meanwhile. */
  writable(): boolean;
  /** Held records not yet acknowledged by the ledger (metrics: part of the backlog). */
  undelivered(): number;
  /** Write held records (or probe) now; the timer calls this too. */
  retry(): Promise<void>;
  close(): void;
}

interface Held {
  id: number;
  record: UsageRecord;
  delivered: boolean;
}

/** Wrap a usage store so that write failures hold records in memory instead of losing them. */
export function holdRecordsOnFailure(store: UsageStoreParts, opts: HeldRecordsOptions = {}): HeldRecordsStore {
  const retryMs = opts.retryMs ?? 1_000;
  if (!(retryMs > 0)) throw new Error('held usage records: retryMs must be positive');
  const log = opts.log ?? (() => {});
  const held = new Map<string, Held>();
  // Held entries get negative ids, so they never collide with the store's (positive) sequence.
  let nextId = -1;
  let failing = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let retrying: Promise<void> | undefined;

  function failed(err: unknown): void {
    if (!failing) log(`usage: the usage store cannot be written (${(err as Error).message}); refusing new requests, holding records in memory`);
    failing = true;
    timer ??= setInterval(() => void retry(), retryMs);
    (timer as { unref?: () => void }).unref?.();
  }

  function recovered(): void {
    if (held.size > 0) return;
    if (failing) log('usage: the usage store takes writes again; accepting requests');
    failing = false;
    if (timer) clearInterval(timer);
    timer = undefined;
  }

  async function retryOnce(): Promise<void> {
    try {
      for (const [key, h] of held) {
        await store.journal.complete(h.record);
        held.delete(key);
      }
      if (failing && held.size === 0) await store.probe();
      recovered();
    } catch (err) {
      failed(err);
    }
  }

  const retry = (): Promise<void> => (retrying ??= retryOnce().finally(() => (retrying = undefined)));

  const journal: JournalStore = {
    async write(rows) {
      try {
        await store.journal.write(rows);
      } catch (err) {
        failed(err);
        throw err;
      }
      recovered();
    },
    async complete(rec) {
      const key = `${rec.replica_id}\n${rec.request_id}`;
      if (held.has(key)) return false;
      try {
        const fresh = await store.journal.complete(rec);
        recovered();
        return fresh;
      } catch (err) {
        held.set(key, { id: nextId--, record: rec, delivered: false });
        failed(err);
        return true;
      }
    },
    recover: (finalize) => store.journal.recover(finalize),
  };

  const outbox: UsageOutbox = {
    append: (rec) => journal.complete(rec).then(() => {}),
    async pending(limit) {
      const out: OutboxEntry[] = [];
      for (const h of held.values()) if (!h.delivered && out.length < limit) out.push({ id: h.id, record: h.record });
      if (out.length >= limit) return out;
      try {
        return [...out, ...(await store.outbox.pending(limit - out.length))];
      } catch (err) {
        if (out.length === 0) throw err;
        return out;
      }
    },
    async markDelivered(ids) {
      const own = new Set(ids.filter((id) => id < 0));
      for (const h of held.values()) if (own.has(h.id)) h.delivered = true;
      const stored = ids.filter((id) => id >= 0);
      if (stored.length > 0) await store.outbox.markDelivered(stored);
    },
  };

  return {
    journal,
    outbox,
    writable: () => !failing,
    undelivered: () => [...held.values()].filter((h) => !h.delivered).length,
    retry,
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (held.size > 0) log(`usage: ${held.size} usage record(s) could not be written to the usage store before shutdown`);
    },
  };
}
