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
import Database from 'better-sqlite3';
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

/** Open (creating if needed) a SQLite file; `:memory:` works for tests. */
export function openSqlite(file: string): SqliteHandle {
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = FULL');
  raw.pragma('foreign_keys = ON');
  raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Statements are prepared once per SQL text; the stores use a small fixed set.
  const cache = new Map<string, Database.Statement>();
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
  };
  return { db, close: () => raw.close() };
}
