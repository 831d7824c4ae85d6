/**
 * The journal's table is defined from shared/usage-columns.ts; a usage database written before
 * that (by the literal schema below) must still be recovered, and a fresh one must have the same
 * columns in the same order.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Database, type SqliteDatabase } from '#shared/adapters/node/sqlite-driver.ts';
import { recoveredRecord } from '../../usage/journal-store.ts';
import { openSqliteUsageStore } from './sqlite-journal.ts';

const EXISTING_SCHEMA = `
  CREATE TABLE IF NOT EXISTS usage_journal (
    replica_id        TEXT    NOT NULL,
    request_id        TEXT    NOT NULL,
    owner             TEXT    NOT NULL,
    tenant_id         TEXT    NOT NULL,
    key_id            TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    revision          TEXT    NOT NULL,
    endpoint          TEXT    NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    started_at        INTEGER NOT NULL,
    checkpointed_at   INTEGER NOT NULL,
    PRIMARY KEY (replica_id, request_id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS usage_journal_owner ON usage_journal (owner);
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempFile = () => {
  const d = mkdtempSync(join(tmpdir(), 'motif-journal-schema-'));
  dirs.push(d);
  return join(d, 'usage.sqlite');
};
const tableInfo = (db: SqliteDatabase) => db.prepare('SELECT name, type, "notnull", pk FROM pragma_table_info(\'usage_journal\')').all();

describe('SQLite usage journal schema', () => {
  it('a fresh journal has the columns of existing ones, in the same order', () => {
    const existing = new Database(':memory:');
    existing.exec(EXISTING_SCHEMA);
    const file = tempFile();
    openSqliteUsageStore({ file }).close();
    const fresh = new Database(file);
    expect(tableInfo(fresh)).toEqual(tableInfo(existing));
    existing.close();
    fresh.close();
  });

  it('recovers the rows a process left in a journal created by the existing schema', async () => {
    const file = tempFile();
    const old = new Database(file);
    old.exec(EXISTING_SCHEMA);
    old
      .prepare('INSERT INTO usage_journal VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run('replica-1', 'left', 'gone-writer', 'tenant-a', 'key-1', 'motif-test', 'rev1', 'completions', 6, 2, 9, 1_000, 3_000);
    old.close();
    const s = openSqliteUsageStore({ file });
    try {
      const recs = await s.journal.recover(recoveredRecord);
      expect(recs.map((r) => [r.request_id, r.endpoint, r.outcome, r.prompt_tokens, r.cached_tokens, r.completion_tokens, r.finished_at])).toEqual([
        ['left', 'completions', 'error', 6, 2, 9, 3_000],
      ]);
    } finally {
      s.close();
    }
  });
});
