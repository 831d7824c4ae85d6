/**
 * better-sqlite3 as the stores' SqlDb on Node. WAL lets readers (usage queries) run beside the
 * writer (usage ingest); `synchronous = FULL` makes each committed ledger batch survive power
 * loss, which matters because the origin deletes records from its outbox once we acknowledge.
 */
import Database from 'better-sqlite3';
import type { SqlDb, SqlValue } from '../../stores/sql.ts';

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
  raw.pragma('busy_timeout = 5000');
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
    all: <T extends Record<string, SqlValue>>(sql: string, ...params: SqlValue[]) => stmt(sql).all(...params) as T[],
    run: (sql, ...params) => {
      stmt(sql).run(...params);
    },
    transaction: <T>(fn: () => T): T => raw.transaction(fn)(),
  };
  return { db, close: () => raw.close() };
}
