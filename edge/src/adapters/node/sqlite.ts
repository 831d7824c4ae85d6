/**
 * better-sqlite3 as the stores' SqlDb on Node. WAL lets readers (usage queries) run beside the
 * writer (usage ingest); `synchronous = FULL` makes each committed ledger batch survive power
 * loss, which matters because the origin deletes records from its outbox once we acknowledge.
 *
 * better-sqlite3 is synchronous: while SQLite waits for a lock held by another process (a
 * backup, an operator's shell), the whole edge waits with it, heartbeats and client streams
 * included. So the wait is short, and a store that stays locked, full, read-only or failing
 * answers a retryable 503 (`storage_unavailable`): origins keep usage in their outboxes and
 * deliver it again later.
 */
import { Database, type SqliteStatement } from '#shared/adapters/node/sqlite-driver.ts';
import { storageUnavailable } from '#shared/storage-errors.ts';
import type { SqlDb, SqlValue } from '../../stores/sql.ts';

/** How long a write waits for another process's lock, blocking the event loop meanwhile. */
const BUSY_TIMEOUT_MS = 100;

function translated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw (err instanceof Database.SqliteError && storageUnavailable(err, "edge's store")) || err;
  }
}

export interface SqliteHandle {
  db: SqlDb;
  close(): void;
}

export interface OpenSqliteOptions {
  /**
   * FULL (default): every commit survives power loss — for what origins delete once we
   * acknowledge it (the usage ledger). NORMAL: commits survive a crash of the process but not of
   * the machine, and cost no fsync — for state that is cheap to lose (the replay window, the
   * limits' buckets and leases).
   */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * WAL pages after which a commit checkpoints on the calling thread (SQLite's default 1000).
   * Raised when a worker checkpoints the file off the event loop (wal-checkpointer.ts).
   */
  autoCheckpointPages?: number;
}

/** Open (creating if needed) a SQLite file; `:memory:` works for tests. */
export function openSqlite(file: string, opts: OpenSqliteOptions = {}): SqliteHandle {
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma(`synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
  raw.pragma('foreign_keys = ON');
  // Statement journals and savepoints (every group-commit item runs in one) would otherwise be
  // temporary files, each created and unlinked on disk, dozens of times a second under load.
  raw.pragma('temp_store = MEMORY');
  raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  if (opts.autoCheckpointPages !== undefined) raw.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(opts.autoCheckpointPages))}`);
  // Statements are prepared once per SQL text; the stores use a small fixed set.
  const cache = new Map<string, SqliteStatement>();
  const stmt = (sql: string) => {
    let s = cache.get(sql);
    if (!s) {
      s = raw.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const db: SqlDb = {
    all: <T extends Record<string, SqlValue>>(sql: string, ...params: SqlValue[]) => translated(() => stmt(sql).all(...params) as T[]),
    run: (sql, ...params) => {
      translated(() => stmt(sql).run(...params));
    },
    transaction: <T>(fn: () => T): T => translated(() => raw.transaction(fn)()),
    immediate: <T>(fn: () => T): T =>
      translated(() => {
        if (raw.inTransaction) return fn();
        stmt('BEGIN IMMEDIATE').run();
        try {
          const out = fn();
          stmt('COMMIT').run();
          return out;
        } catch (err) {
          if (raw.inTransaction) stmt('ROLLBACK').run();
          throw err;
        }
      }),
  };
  return { db, close: () => raw.close() };
}
