/**
 * Group commit: writes that arrive close together share one SQL transaction, so the cost of a
 * commit — an fsync on a durable store (SQLite with `synchronous = FULL`), the write lock and the
 * WAL append on any — is paid once per batch instead of once per request. An fsync costs
 * milliseconds and, with a synchronous driver, blocks the event loop for that long: with many
 * origins delivering usage, or every request admitted and settled by the limiter, per-item
 * commits would spend the edge's core waiting on the disk.
 *
 * Items run in arrival order inside the batch's transaction, so a read-decide-write item (a
 * limiter admission) sees every earlier item of its batch: exact, as if each had its own. With
 * `isolateItems` each item also runs in its own savepoint: an item that throws rolls back alone
 * and rejects its own caller. A failed commit rejects everyone.
 */
import type { SqlDb } from './sql.ts';

export interface GroupCommitOptions {
  /** When to run a batch, given its first item (default: 5 ms later). */
  defer?: (flush: () => void) => void;
  /** Take the write lock at BEGIN (SQLite `BEGIN IMMEDIATE`): for batches that read, decide, then write. */
  immediate?: boolean;
  /** Each item in its own savepoint, so a throwing item fails alone (default true). */
  isolateItems?: boolean;
  /** Run the batch at once when this many items wait (default 256). */
  maxItems?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

type Outcome<O> = { ok: true; out: O } | { ok: false; err: unknown };

/** Wrap a synchronous write `run(item)` so calls that arrive together commit together. */
export function groupCommit<I, O>(db: SqlDb, run: (item: I) => O, opts: GroupCommitOptions = {}): (item: I) => Promise<O> {
  const defer = opts.defer ?? ((flush) => setTimeout(flush, 5));
  const isolate = opts.isolateItems ?? true;
  const maxItems = opts.maxItems ?? 256;
  if (!(Number.isInteger(maxItems) && maxItems >= 1)) throw new Error('groupCommit: maxItems must be a positive integer');
  const transaction = opts.immediate ? db.immediate.bind(db) : db.transaction.bind(db);
  let queue: Waiting<I, O>[] = [];

  const runOne = (w: Waiting<I, O>): Outcome<O> => {
    if (!isolate) return { ok: true, out: run(w.item) };
    try {
      return { ok: true, out: db.transaction(() => run(w.item)) };
    } catch (err) {
      return { ok: false, err };
    }
  };

  function flush(): void {
    const group = queue;
    queue = [];
    if (group.length === 0) return;
    let outcomes: Outcome<O>[];
    try {
      outcomes = transaction(() => group.map(runOne));
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    group.forEach((w, i) => {
      const o = outcomes[i]!;
      if (o.ok) w.resolve(o.out);
      else w.reject(o.err);
    });
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (queue.length === 1) defer(flush);
      // A full batch runs now; the deferred flush then finds what came after (or nothing).
      else if (queue.length >= maxItems) flush();
    });
}
