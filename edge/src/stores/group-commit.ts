/**
 * Group commit: writes that arrive within a few milliseconds of each other share one SQL
 * transaction, so a durable store (SQLite with `synchronous = FULL`) pays one fsync for all of
 * them instead of one each. An fsync costs milliseconds and, with a synchronous driver, blocks
 * the event loop for that long: with many origins delivering usage at once, per-batch commits
 * would spend the edge's core waiting on the disk.
 *
 * Each item runs in its own savepoint inside the shared transaction: an item that throws rolls
 * back alone and rejects its own caller; the others commit. A failed commit rejects everyone.
 */
import type { SqlDb } from './sql.ts';

export interface GroupCommitOptions {
  /** How long the first item of a group waits for company (default 5 ms). */
  windowMs?: number;
  /** Commit at once when this many items are waiting (default 64). */
  maxItems?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

/** Wrap a synchronous write `run(item)` so concurrent calls commit together. */
export function groupCommit<I, O>(db: SqlDb, run: (item: I) => O, opts: GroupCommitOptions = {}): (item: I) => Promise<O> {
  const windowMs = opts.windowMs ?? 5;
  const maxItems = opts.maxItems ?? 64;
  if (!(windowMs >= 0 && windowMs <= 1000)) throw new Error('groupCommit: windowMs must be 0..1000');
  if (!(Number.isInteger(maxItems) && maxItems >= 1)) throw new Error('groupCommit: maxItems must be a positive integer');
  let queue: Waiting<I, O>[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  function flush(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const group = queue;
    queue = [];
    if (group.length === 0) return;
    const outcomes: ({ ok: true; out: O } | { ok: false; err: unknown })[] = [];
    try {
      db.transaction(() => {
        for (const w of group) {
          try {
            outcomes.push({ ok: true, out: db.transaction(() => run(w.item)) });
          } catch (err) {
            outcomes.push({ ok: false, err });
          }
        }
      });
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
      if (queue.length >= maxItems) flush();
      else timer ??= setTimeout(flush, windowMs);
    });
}
