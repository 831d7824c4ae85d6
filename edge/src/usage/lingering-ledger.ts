/**
 * Usage records the edge writes itself (cache hits: no origin served them) gathered for a moment
 * and inserted together. A hit costs the edge about a millisecond; a ledger insert of its own
 * (a transaction, and on Node an fsync) is a good part of that. Gathered over `lingerMs`, a
 * stream of hits shares one insert. A record waits at most `lingerMs` before it is written, and
 * `flush()` (at shutdown) writes what waits; what a crash loses is at most that window of hit
 * records, never a generated request's (those come from origins' outboxes, which redeliver).
 */
import type { UsageRecord } from '#shared/usage.ts';
import type { Ledger, LedgerInsertResult } from '../ports.ts';

/** A Ledger whose `insert` resolves once its batch is written, with the whole batch's counts. */
export interface LingeringLedger extends Ledger {
  /** Write what waits now; resolves when it is written. */
  flush(): Promise<void>;
}

interface Waiting {
  records: UsageRecord[];
  receivedAt: number;
  resolve: (r: LedgerInsertResult) => void;
  reject: (err: unknown) => void;
}

/** Wrap `inner` so inserts arriving within `lingerMs` (default 50) are written as one, up to `maxRecords` (default 500) at a time. */
export function lingeringLedger(inner: Ledger, opts: { lingerMs?: number; maxRecords?: number } = {}): LingeringLedger {
  const lingerMs = opts.lingerMs ?? 50;
  const maxRecords = opts.maxRecords ?? 500;
  if (!(lingerMs >= 0 && Number.isInteger(maxRecords) && maxRecords > 0)) throw new Error('lingeringLedger: lingerMs ≥ 0 and maxRecords a positive integer');
  let queue: Waiting[] = [];
  let count = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function write(): Promise<void> {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const batch = queue;
    queue = [];
    count = 0;
    if (batch.length === 0) return;
    try {
      // One insert for the batch, received when its first record was.
      const result = await inner.insert(
        batch.flatMap((w) => w.records),
        batch[0]!.receivedAt,
      );
      for (const w of batch) w.resolve(result);
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }

  return {
    ...inner,
    insert: (records, receivedAt) =>
      new Promise<LedgerInsertResult>((resolve, reject) => {
        queue.push({ records, receivedAt, resolve, reject });
        count += records.length;
        if (count >= maxRecords) void write();
        else timer ??= setTimeout(() => void write(), lingerMs);
      }),
    flush: write,
  };
}
