/**
 * The usage journal (usage/journal-store.ts) on SQLite, in the same database as the usage outbox
 * so that a request's final record replaces its journal row in one transaction. Rows carry the id
 * of the process that wrote them; `recover` finalizes only rows whose writer is gone (see
 * sqlite-journal-owners.ts), so origin processes sharing a data dir never finalize each other's
 * running requests.
 *
 * Durability: final records are fsynced (synchronous=FULL, as the outbox). Journal rows are
 * committed with synchronous=NORMAL: in WAL mode that survives a process crash (the commit is in
 * the OS's page cache) but not a power cut, and costs tens of microseconds instead of an fsync
 * (milliseconds on a busy disk, blocking the event loop); the next fsynced commit — any request's
 * final record — makes them power-safe too.
 */
import { randomUUID } from 'node:crypto';
import type { UsageRecord } from '#shared/usage.ts';
import { placeholders, readUsageColumns, USAGE_KEY_COLUMNS, usageColumnDefinitions, writeUsageColumns } from '#shared/usage-columns.ts';
import type { JournalRow, JournalStore } from '../../ports.ts';
import { acquireOwnerLock, type OwnerLock } from './sqlite-journal-owners.ts';
import { createSqliteOutbox, openUsageDatabase, type SqliteOutbox, type SqliteOutboxOptions } from './sqlite-outbox.ts';

export interface SqliteUsageStoreOptions extends SqliteOutboxOptions {
  /** Where writers' lock files live; default `<file>.owners` (none for `:memory:`). */
  ownersDir?: string;
  log?: (line: string) => void;
}

export interface SqliteUsageStore extends SqliteOutbox {
  journal: JournalStore;
  /** One small fsynced write: resolves once the database takes writes (after a full disk). */
  probe(): Promise<void>;
  /** This process's writer id (tests, logs). */
  readonly owner: string;
}

/**
 * The record's fields a journal row holds (a running request has no outcome or end yet), stored
 * under the record's column definitions (shared/usage-columns.ts). The row also has the writer
 * (`owner`, after the key) and `checkpointed_at`, the journal's own columns.
 */
const JOURNAL_FIELDS = ['tenant_id', 'key_id', 'model', 'revision', 'endpoint', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'started_at'] as const;
type JournalFields = Pick<UsageRecord, (typeof USAGE_KEY_COLUMNS)[number] | (typeof JOURNAL_FIELDS)[number]>;
const RECORD_COLUMNS = [...USAGE_KEY_COLUMNS, ...JOURNAL_FIELDS];

const toFields = (r: JournalRow): JournalFields => ({
  replica_id: r.replicaId,
  request_id: r.requestId,
  tenant_id: r.tenantId,
  key_id: r.keyId,
  model: r.model,
  revision: r.revision,
  endpoint: r.endpoint,
  prompt_tokens: r.promptTokens,
  cached_tokens: r.cachedTokens,
  completion_tokens: r.completionTokens,
  started_at: r.startedAt,
});

const fromRow = (row: Record<string, unknown>): JournalRow => {
  const r = readUsageColumns(row, RECORD_COLUMNS);
  return {
    replicaId: r.replica_id,
    requestId: r.request_id,
    tenantId: r.tenant_id,
    keyId: r.key_id,
    model: r.model,
    revision: r.revision,
    endpoint: r.endpoint,
    promptTokens: r.prompt_tokens,
    cachedTokens: r.cached_tokens,
    completionTokens: r.completion_tokens,
    startedAt: r.started_at,
    checkpointedAt: Number(row.checkpointed_at),
  };
};

/** Open (or create) the usage database: the outbox plus the crash journal. */
export function openSqliteUsageStore(opts: SqliteUsageStoreOptions): SqliteUsageStore {
  const log = opts.log ?? (() => {});
  const db = openUsageDatabase(opts.file);
  const { outbox, insertSync } = createSqliteOutbox(db, opts);
  let locks: OwnerLock | undefined;
  try {
    // A private in-memory database has no other writers, hence no lock to hold.
    if (opts.file !== ':memory:') locks = acquireOwnerLock(opts.ownersDir ?? `${opts.file}.owners`);
  } catch (err) {
    db.close();
    throw err;
  }
  const self = locks?.self ?? randomUUID();
  db.exec(`
    CREATE TABLE IF NOT EXISTS usage_journal (
${usageColumnDefinitions(USAGE_KEY_COLUMNS, '      ')},
      owner             TEXT    NOT NULL,
${usageColumnDefinitions(JOURNAL_FIELDS, '      ')},
      checkpointed_at   INTEGER NOT NULL,
      PRIMARY KEY (${USAGE_KEY_COLUMNS.join(', ')})
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS usage_journal_owner ON usage_journal (owner);
    CREATE TABLE IF NOT EXISTS usage_store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
  `);
  const probe = db.prepare('INSERT INTO usage_store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at');
  const upsert = db.prepare(`
    INSERT INTO usage_journal (${RECORD_COLUMNS.join(', ')}, owner, checkpointed_at) VALUES (${placeholders(RECORD_COLUMNS.length + 2)})
    ON CONFLICT (${USAGE_KEY_COLUMNS.join(', ')}) DO UPDATE SET owner = excluded.owner, prompt_tokens = excluded.prompt_tokens,
      cached_tokens = excluded.cached_tokens, completion_tokens = excluded.completion_tokens, checkpointed_at = excluded.checkpointed_at`);
  const remove = db.prepare('DELETE FROM usage_journal WHERE replica_id = ? AND request_id = ?');
  const otherOwners = db.prepare<[string], { owner: string }>('SELECT DISTINCT owner FROM usage_journal WHERE owner <> ?');
  const rowsOf = db.prepare<[string], Record<string, unknown>>('SELECT * FROM usage_journal WHERE owner = ? ORDER BY started_at');
  const removeOwner = db.prepare('DELETE FROM usage_journal WHERE owner = ?');

  const writeTx = db.transaction((rows: readonly JournalRow[]) => {
    for (const r of rows) upsert.run(...writeUsageColumns(toFields(r), RECORD_COLUMNS), self, r.checkpointedAt);
  });
  const completeTx = db.transaction((rec: UsageRecord) => {
    const fresh = insertSync(rec);
    remove.run(rec.replica_id, rec.request_id);
    return fresh;
  });
  const recoverTx = db.transaction((owners: readonly string[], finalize: (row: JournalRow) => UsageRecord) => {
    const out: UsageRecord[] = [];
    for (const owner of owners) {
      for (const row of rowsOf.all(owner)) {
        let rec: UsageRecord;
        try {
          rec = finalize(fromRow(row));
        } catch (err) {
          // A row no record can be built from would block every later recovery; drop it loudly.
          log(`usage: dropping unreadable journal row ${row.request_id}: ${(err as Error).message}`);
          continue;
        }
        if (insertSync(rec)) out.push(rec);
      }
      removeOwner.run(owner);
    }
    return out;
  });

  const journal: JournalStore = {
    async write(rows) {
      if (rows.length === 0) return;
      db.pragma('synchronous = NORMAL');
      try {
        writeTx(rows);
      } finally {
        db.pragma('synchronous = FULL');
      }
    },
    async complete(rec) {
      return completeTx(rec);
    },
    async recover(finalize) {
      const gone = otherOwners
        .all(self)
        .map((r) => r.owner)
        .filter((o) => !locks || locks.isGone(o));
      const recs = gone.length > 0 ? recoverTx(gone, finalize) : [];
      locks?.sweep();
      return recs;
    },
  };

  return {
    ...outbox,
    journal,
    owner: self,
    async probe() {
      probe.run(Date.now());
    },
    close() {
      db.close();
      locks?.release();
    },
  };
}
