/**
 * The usage outbox on SQLite (better-sqlite3, WAL). `append` commits with synchronous=FULL, so a
 * record is on disk before the response that it bills ends, and survives a crash or power loss.
 * Delivered rows are kept for a retention period (for inspection), then pruned.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Database, type SqliteDatabase } from '#shared/adapters/node/sqlite-driver.ts';
import { UsageRecord } from '#shared/usage.ts';
import type { OutboxEntry, UsageOutbox } from '../../ports.ts';

export interface SqliteOutboxOptions {
  /** Database file (its directory is created); `:memory:` for tests. */
  file: string;
  /** How long delivered rows stay before pruning. */
  retentionMs?: number;
  now?: () => number;
}

export interface SqliteOutbox extends UsageOutbox {
  /** Undelivered record count (metrics, shutdown logs). */
  backlog(): number;
  close(): void;
}

/** The outbox on an already open database, plus the synchronous insert other tables' transactions reuse. */
export interface SqliteOutboxParts {
  outbox: Omit<SqliteOutbox, 'close'>;
  /** Insert a validated record inside the caller's transaction; false when its key was already there. */
  insertSync(rec: UsageRecord): boolean;
}

/** Open the usage database file with the outbox's durability settings (WAL, fsync on commit). */
export function openUsageDatabase(file: string): SqliteDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Create the outbox table on `db` if needed and return the outbox over it. */
export function createSqliteOutbox(db: SqliteDatabase, opts: Omit<SqliteOutboxOptions, 'file'> = {}): SqliteOutboxParts {
  const retentionMs = opts.retentionMs ?? 24 * 3600_000;
  const now = opts.now ?? Date.now;
  db.exec(`
    CREATE TABLE IF NOT EXISTS usage_outbox (
      seq          INTEGER PRIMARY KEY AUTOINCREMENT,
      replica_id   TEXT    NOT NULL,
      request_id   TEXT    NOT NULL,
      record       TEXT    NOT NULL,
      created_at   INTEGER NOT NULL,
      delivered_at INTEGER,
      UNIQUE (replica_id, request_id)
    );
    CREATE INDEX IF NOT EXISTS usage_outbox_pending ON usage_outbox (seq) WHERE delivered_at IS NULL;
  `);
  const insert = db.prepare('INSERT OR IGNORE INTO usage_outbox (replica_id, request_id, record, created_at) VALUES (?, ?, ?, ?)');
  const selectPending = db.prepare<[number], { seq: number; record: string }>(
    'SELECT seq, record FROM usage_outbox WHERE delivered_at IS NULL ORDER BY seq LIMIT ?',
  );
  const mark = db.prepare('UPDATE usage_outbox SET delivered_at = ? WHERE seq = ? AND delivered_at IS NULL');
  const prune = db.prepare('DELETE FROM usage_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?');
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM usage_outbox WHERE delivered_at IS NULL');
  const markAll = db.transaction((ids: readonly number[], at: number) => {
    for (const id of ids) mark.run(at, id);
    prune.run(at - retentionMs);
  });
  const insertSync = (rec: UsageRecord): boolean => {
    const r = UsageRecord.parse(rec);
    return insert.run(r.replica_id, r.request_id, JSON.stringify(r), now()).changes === 1;
  };

  return {
    insertSync,
    outbox: {
      async append(rec) {
        insertSync(rec);
      },
      async pending(limit) {
        const out: OutboxEntry[] = [];
        for (const row of selectPending.all(limit)) {
          out.push({ id: row.seq, record: UsageRecord.parse(JSON.parse(row.record)) });
        }
        return out;
      },
      async markDelivered(ids) {
        if (ids.length > 0) markAll(ids, now());
      },
      backlog() {
        return count.get()?.n ?? 0;
      },
    },
  };
}

/** Open (or create) the outbox database. */
export function openSqliteOutbox(opts: SqliteOutboxOptions): SqliteOutbox {
  const db = openUsageDatabase(opts.file);
  const { outbox } = createSqliteOutbox(db, opts);
  return { ...outbox, close: () => db.close() };
}
