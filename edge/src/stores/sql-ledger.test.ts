/**
 * The ledger's table is defined from shared/usage-columns.ts; ledgers created before that (by the
 * literal schema below) must keep working, and a fresh one must have the same columns. Billing
 * semantics (one billable record per request id, refusals apart) are checked on the SQL ledger
 * and the in-memory one alike.
 */
import { describe, expect, it } from 'vitest';
import type { UsageRecord } from '#shared/usage.ts';
import { memoryLedger } from '../adapters/memory/ledger.ts';
import { openSqlite } from '../adapters/node/sqlite.ts';
import type { Ledger } from '../ports.ts';
import { usageRecord } from '../testing/harness.ts';
import { applySchema } from './sql.ts';
import { sqlLedger } from './sql-ledger.ts';

// The ledger as it was before the billable flag.
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
const DAY = Date.UTC(2026, 0, 2);

describe('SQL ledger schema', () => {
  it('a fresh ledger has the columns of an existing one brought up to date', () => {
    const existing = openSqlite(':memory:');
    applySchema(existing.db, EXISTING_SCHEMA);
    sqlLedger(existing.db);
    const fresh = openSqlite(':memory:');
    sqlLedger(fresh.db);
    expect(columns(fresh.db)).toEqual(columns(existing.db));
    expect(columns(fresh.db).at(-1)).toMatchObject({ name: 'billable', type: 'INTEGER', notnull: 1 });
    existing.close();
    fresh.close();
  });

  it('an existing ledger keeps its records, bills a failed-over request once, deduplicates and takes new ones', async () => {
    const h = openSqlite(':memory:');
    applySchema(h.db, EXISTING_SCHEMA);
    const old = (replica: string, request: string, tokens: number, outcome: string) =>
      h.db.run(
        `INSERT INTO usage_records VALUES (?, ?, 'acme', 'key_1', 'motif-test', 'rev-1', 'chat.completions', 4, 1, ?, ?, 1, ${DAY}, 1)`,
        replica,
        request,
        tokens,
        outcome,
      );
    old('r1', 'old', 2, 'finish');
    // A failover from before the flag: the cut attempt and the served one both billed until now.
    old('r1', 'twice', 0, 'error');
    old('r2', 'twice', 3, 'finish');
    const ledger = sqlLedger(h.db);
    expect(h.db.all('SELECT replica_id, request_id, billable FROM usage_records ORDER BY request_id, replica_id')).toEqual([
      { replica_id: 'r1', request_id: 'old', billable: 1 },
      { replica_id: 'r1', request_id: 'twice', billable: 0 },
      { replica_id: 'r2', request_id: 'twice', billable: 1 },
    ]);
    expect(await ledger.insert([usageRecord({ request_id: 'old' }), usageRecord({ request_id: 'new', finished_at: DAY + 1 })], 2)).toEqual({
      accepted: 1,
      duplicates: 1,
    });
    expect(await ledger.query('acme', { groupBy: 'day' })).toEqual([
      { group: '2026-01-02', requests: 3, prompt_tokens: 18, cached_tokens: 2, completion_tokens: 10, total_tokens: 28, refused: 0, cache_hits: 0 },
    ]);
    // Opening it again changes nothing.
    sqlLedger(h.db);
    expect(await ledger.query('acme', { groupBy: 'day' })).toHaveLength(1);
    h.close();
  });
});

const ledgers: [string, () => Ledger][] = [
  ['sql', () => sqlLedger(openSqlite(':memory:').db)],
  ['memory', () => memoryLedger()],
];

type Attempt = Pick<UsageRecord, 'replica_id' | 'outcome' | 'completion_tokens'>;
const attempt = (a: Attempt, i: number) =>
  usageRecord({ ...a, request_id: 'req', prompt_tokens: a.outcome === 'refused' ? 0 : 10, finished_at: DAY + i, cached_tokens: 2 });

// Each case: the attempts of one request id, and which one must bill (by replica), in any order.
const billingCases: { name: string; attempts: Attempt[]; bills: string | null }[] = [
  {
    name: 'refused then served elsewhere',
    attempts: [
      { replica_id: 'r1', outcome: 'refused', completion_tokens: 0 },
      { replica_id: 'r2', outcome: 'finish', completion_tokens: 5 },
    ],
    bills: 'r2',
  },
  {
    name: 'died before a byte, then served',
    attempts: [
      { replica_id: 'r1', outcome: 'error', completion_tokens: 0 },
      { replica_id: 'r2', outcome: 'finish', completion_tokens: 5 },
    ],
    bills: 'r2',
  },
  {
    name: 'completed beats cut even with fewer tokens',
    attempts: [
      { replica_id: 'r1', outcome: 'abort', completion_tokens: 9 },
      { replica_id: 'r2', outcome: 'stop', completion_tokens: 4 },
    ],
    bills: 'r2',
  },
  {
    name: 'then more completion tokens',
    attempts: [
      { replica_id: 'r1', outcome: 'error', completion_tokens: 2 },
      { replica_id: 'r2', outcome: 'abort', completion_tokens: 3 },
    ],
    bills: 'r2',
  },
  {
    name: 'then the smaller replica id',
    attempts: [
      { replica_id: 'r2', outcome: 'finish', completion_tokens: 5 },
      { replica_id: 'r1', outcome: 'finish', completion_tokens: 5 },
      { replica_id: 'r3', outcome: 'refused', completion_tokens: 0 },
    ],
    bills: 'r1',
  },
  {
    name: 'a cache hit bills as a completed request',
    attempts: [{ replica_id: 'edge-cache', outcome: 'cached', completion_tokens: 5 }],
    bills: 'edge-cache',
  },
  {
    name: 'only refusals: nothing bills',
    attempts: [
      { replica_id: 'r1', outcome: 'refused', completion_tokens: 0 },
      { replica_id: 'r2', outcome: 'refused', completion_tokens: 0 },
    ],
    bills: null,
  },
];

describe.each(ledgers)('%s ledger billing', (_kind, make) => {
  it.each(billingCases)('$name', async ({ attempts, bills }) => {
    const refused = attempts.filter((a) => a.outcome === 'refused').length;
    const billed = attempts.find((a) => a.replica_id === bills);
    const expected = {
      group: 'motif-test',
      requests: billed ? 1 : 0,
      prompt_tokens: billed ? 10 : 0,
      cached_tokens: billed ? 2 : 0,
      completion_tokens: billed?.completion_tokens ?? 0,
      total_tokens: billed ? 10 + billed.completion_tokens : 0,
      refused,
      cache_hits: billed?.outcome === 'cached' ? 1 : 0,
    };
    const records = attempts.map(attempt);
    // Every arrival order, one batch each and all in one batch: the same record bills.
    for (const order of [records, [...records].reverse()]) {
      const one = make();
      for (const r of order) await one.insert([r], 1);
      expect(await one.query('acme', { groupBy: 'model' })).toEqual([expected]);
      const batched = make();
      await batched.insert(order, 1);
      await batched.insert(order, 2); // redelivery changes nothing
      expect(await batched.query('acme', { groupBy: 'model' })).toEqual([expected]);
    }
  });

  it('groups by UTC hour and by tenant, carries cached tokens, sums hours per tenant × model', async () => {
    const ledger = make();
    const at = (h: number, m = 0) => Date.UTC(2026, 0, 2, h, m);
    await ledger.insert(
      [
        usageRecord({ request_id: 'a', finished_at: at(9, 59), cached_tokens: 4 }),
        usageRecord({ request_id: 'b', finished_at: at(10, 0), model: 'm, "quoted"' }),
        usageRecord({ request_id: 'c', finished_at: at(10, 30), cached_tokens: 6 }),
        usageRecord({ request_id: 'd', finished_at: at(10, 31), tenant_id: 'beta' }),
        usageRecord({ request_id: 'e', finished_at: at(10, 32), outcome: 'refused', prompt_tokens: 0, completion_tokens: 0 }),
      ],
      1,
    );
    const row = { requests: 1, prompt_tokens: 10, cached_tokens: 0, completion_tokens: 5, total_tokens: 15, refused: 0, cache_hits: 0 };
    expect(await ledger.query('acme', { groupBy: 'hour' })).toEqual([
      { ...row, group: '2026-01-02T09:00:00Z', cached_tokens: 4 },
      {
        ...row,
        group: '2026-01-02T10:00:00Z',
        requests: 2,
        prompt_tokens: 20,
        cached_tokens: 6,
        completion_tokens: 10,
        total_tokens: 30,
        refused: 1,
        cache_hits: 0,
      },
    ]);
    expect(await ledger.query(undefined, { groupBy: 'tenant', fromMs: at(10) })).toEqual([
      { ...row, group: 'acme', requests: 2, prompt_tokens: 20, cached_tokens: 6, completion_tokens: 10, total_tokens: 30, refused: 1, cache_hits: 0 },
      { ...row, group: 'beta' },
    ]);
    const hours = await ledger.hourly(undefined, { toMs: at(11) }, 10);
    expect(hours.map((h) => [new Date(h.hour_start).toISOString(), h.tenant_id, h.model, h.requests, h.cached_tokens])).toEqual([
      ['2026-01-02T09:00:00.000Z', 'acme', 'motif-test', 1, 4],
      ['2026-01-02T10:00:00.000Z', 'acme', 'm, "quoted"', 1, 0],
      ['2026-01-02T10:00:00.000Z', 'acme', 'motif-test', 1, 6],
      ['2026-01-02T10:00:00.000Z', 'beta', 'motif-test', 1, 0],
    ]);
    expect(await ledger.hourly('beta', {}, 10)).toHaveLength(1);
    expect(await ledger.hourly(undefined, {}, 2)).toHaveLength(2);
  });
});
