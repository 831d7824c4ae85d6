/**
 * The pool registry in SQL, for the pool Durable Object: the latest heartbeat per replica, kept
 * across DO restarts so a model whose replicas went quiet still answers 503 rather than 404.
 */
import { HEARTBEAT_TTL_MS, Heartbeat } from '#shared/protocol.ts';
import type { PoolEntry } from '../ports.ts';
import { applySchema, type SqlDb } from './sql.ts';

export const POOL_SCHEMA = `
CREATE TABLE IF NOT EXISTS replicas (
  replica_id TEXT PRIMARY KEY,
  heartbeat TEXT NOT NULL,
  ts INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  first_seen INTEGER NOT NULL
)
`;

/** Create the pool table if missing. */
export function initPool(db: SqlDb): void {
  applySchema(db, POOL_SCHEMA);
}

/** Store a heartbeat unless it is a late copy of the stored one's predecessor (protocol.ts `isLateHeartbeat`). */
export function poolUpsert(db: SqlDb, hb: Heartbeat, receivedAt: number): void {
  db.run(
    `INSERT INTO replicas (replica_id, heartbeat, ts, last_seen, first_seen) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (replica_id) DO UPDATE SET heartbeat = excluded.heartbeat, ts = excluded.ts, last_seen = excluded.last_seen
     WHERE excluded.ts >= replicas.ts OR replicas.ts - excluded.ts > ?`,
    hb.replica_id,
    JSON.stringify(hb),
    hb.ts,
    receivedAt,
    receivedAt,
    HEARTBEAT_TTL_MS,
  );
}

/** Replicas heard from within `retentionMs`; older ones are deleted. */
export function poolList(db: SqlDb, now: number, retentionMs: number): PoolEntry[] {
  db.run('DELETE FROM replicas WHERE last_seen < ?', now - retentionMs);
  const rows = db.all<{ heartbeat: string; last_seen: number; first_seen: number }>(
    'SELECT heartbeat, last_seen, first_seen FROM replicas ORDER BY replica_id',
  );
  const out: PoolEntry[] = [];
  for (const r of rows) {
    // Stored rows were validated on the way in; re-validate anyway so a schema change cannot
    // feed the router malformed replicas.
    const hb = Heartbeat.safeParse(JSON.parse(r.heartbeat));
    if (hb.success) out.push({ heartbeat: hb.data, lastSeen: Number(r.last_seen), firstSeen: Number(r.first_seen) });
  }
  return out;
}
