/**
 * Drain marks in the pool, as a PoolView contract run against the SQL store (better-sqlite3; the
 * pool Durable Object runs the same queries) and the in-memory pool, and the migration of a pool
 * table created before drain marks existed.
 */
import { describe, expect, it } from 'vitest';
import { memoryPool } from '../adapters/memory/pool.ts';
import { openSqlite } from '../adapters/node/sqlite.ts';
import type { PoolView } from '../ports.ts';
import { readyHeartbeat } from '../testing/internal-calls.ts';
import { applySchema } from './sql.ts';
import { initPool, poolList, poolSetDrained, poolUpsert } from './sql-pool.ts';

const RETENTION_MS = 10_000;

function sqlPool(): PoolView {
  const { db } = openSqlite(':memory:');
  initPool(db);
  return {
    upsert: async (hb, at) => poolUpsert(db, hb, at),
    list: async (now) => poolList(db, now, RETENTION_MS),
    setDrained: async (id, drained, now) => poolSetDrained(db, id, drained, now, RETENTION_MS),
  };
}

const pools: { name: string; make: () => PoolView }[] = [
  { name: 'sql', make: sqlPool },
  { name: 'memory', make: () => memoryPool({ retentionMs: RETENTION_MS }) },
];

const beat = (id: string, ts: number, waiting = 0) => readyHeartbeat(id, 'n', `http://${id}`, 'm', { revision: 'v', max_running: 4, ts, waiting });
const drainedAt = async (pool: PoolView, now: number) => Object.fromEntries((await pool.list(now)).map((e) => [e.heartbeat.replica_id, e.drainedAt]));

describe.each(pools)('PoolView drain marks: $name', ({ make }) => {
  it('drain marks one replica, keeps the first time when repeated, and undrain clears it', async () => {
    const pool = make();
    await pool.upsert(beat('a', 1), 1000);
    await pool.upsert(beat('b', 1), 1000);
    expect(await drainedAt(pool, 1000)).toEqual({ a: null, b: null });
    expect(await pool.setDrained('a', true, 1500)).toMatchObject({ heartbeat: { replica_id: 'a' }, drainedAt: 1500 });
    expect(await pool.setDrained('a', true, 1700)).toMatchObject({ drainedAt: 1500 });
    expect(await drainedAt(pool, 1800)).toEqual({ a: 1500, b: null });
    expect(await pool.setDrained('a', false, 1900)).toMatchObject({ heartbeat: { replica_id: 'a' }, drainedAt: null });
    expect(await pool.setDrained('a', false, 1900)).toMatchObject({ drainedAt: null });
    expect(await drainedAt(pool, 2000)).toEqual({ a: null, b: null });
  });

  it("heartbeats update a drained replica's load without undraining it", async () => {
    const pool = make();
    await pool.upsert(beat('a', 1), 1000);
    await pool.setDrained('a', true, 1100);
    await pool.upsert(beat('a', 2, 7), 2000);
    const [entry] = await pool.list(2000);
    expect(entry).toMatchObject({ heartbeat: { waiting: 7, ts: 2 }, lastSeen: 2000, firstSeen: 1000, drainedAt: 1100 });
  });

  it('an unknown replica, or one forgotten past retention, is null and not created', async () => {
    const pool = make();
    expect(await pool.setDrained('ghost', true, 1000)).toBeNull();
    expect(await pool.list(1000)).toEqual([]);
    await pool.upsert(beat('a', 1), 1000);
    expect(await pool.setDrained('a', true, 1000 + RETENTION_MS + 1)).toBeNull();
    expect(await pool.list(1000 + RETENTION_MS + 1)).toEqual([]);
  });
});

describe('sql pool migration', () => {
  it('opens a pool table from before drain marks, keeping its rows undrained', () => {
    const { db } = openSqlite(':memory:');
    applySchema(
      db,
      `CREATE TABLE replicas (replica_id TEXT PRIMARY KEY, heartbeat TEXT NOT NULL, ts INTEGER NOT NULL,
         last_seen INTEGER NOT NULL, first_seen INTEGER NOT NULL)`,
    );
    const hb = beat('old', 1);
    db.run('INSERT INTO replicas (replica_id, heartbeat, ts, last_seen, first_seen) VALUES (?, ?, ?, ?, ?)', 'old', JSON.stringify(hb), 1, 1000, 1000);
    initPool(db);
    initPool(db);
    expect(poolList(db, 1000, RETENTION_MS)).toEqual([{ heartbeat: hb, lastSeen: 1000, firstSeen: 1000, drainedAt: null }]);
    expect(poolSetDrained(db, 'old', true, 1200, RETENTION_MS)).toMatchObject({ drainedAt: 1200 });
  });
});
