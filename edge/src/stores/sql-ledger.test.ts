/**
 * The ledger's table is defined from shared/usage-columns.ts; ledgers created before that (by the
 * literal schema below) must keep working, and a fresh one must have the same columns.
 */
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../adapters/node/sqlite.ts';
import { usageRecord } from '../testing/harness.ts';
import { applySchema } from './sql.ts';
import { sqlLedger } from './sql-ledger.ts';

const EXISTING_SCHEMA = `
CREATE TABLE IF NOT EXISTS usage_records (
  replica_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  revision TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (replica_id, request_id)
);
CREATE INDEX IF NOT EXISTS usage_by_tenant_time ON usage_records (tenant_id, finished_at)
`;

type Column = { name: string; type: string; notnull: number; pk: number };
const columns = (db: ReturnType<typeof openSqlite>['db']) => db.all<Column>('SELECT name, type, "notnull", pk FROM pragma_table_info(\'usage_records\')');

describe('SQL ledger schema', () => {
  it('a fresh ledger has the columns of existing ones', () => {
    const existing = openSqlite(':memory:');
    applySchema(existing.db, EXISTING_SCHEMA);
    const fresh = openSqlite(':memory:');
    sqlLedger(fresh.db);
    expect(columns(fresh.db)).toEqual(columns(existing.db));
    existing.close();
    fresh.close();
  });

  it('an existing ledger keeps its records, deduplicates against them and takes new ones', async () => {
    const h = openSqlite(':memory:');
    applySchema(h.db, EXISTING_SCHEMA);
    h.db.run(
      `INSERT INTO usage_records VALUES ('r1', 'old', 'acme', 'key_1', 'motif-test', 'rev-1', 'chat.completions', 4, 0, 2, 'finish', 1, ${Date.UTC(2026, 0, 2)}, 1)`,
    );
    const ledger = sqlLedger(h.db);
    expect(await ledger.insert([usageRecord({ request_id: 'old' }), usageRecord({ request_id: 'new' })], 2)).toEqual({ accepted: 1, duplicates: 1 });
    expect(await ledger.query('acme', { groupBy: 'day' })).toEqual([
      { group: '2026-01-02', requests: 2, prompt_tokens: 14, completion_tokens: 7, total_tokens: 21 },
    ]);
    h.close();
  });
});
