/**
 * The pool registry in SQL, for the pool Durable Object: the latest heartbeat per replica, kept
 * across DO restarts so a model whose replicas went quiet still answers 503 rather than 404, and
 * the operator's drain marks (kept across restarts too; a heartbeat never touches them).
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
  first_seen INTEGER NOT NULL,
  drained_at INTEGER
)
`;

/** Create the pool table if missing; a table from before drain marks gains `drained_at`. */
export function initPool(db: SqlDb): void {
  applySchema(db, POOL_SCHEMA);
  const cols = new Set(db.all<{ name: string }>('PRAGMA table_info(replicas)').map((r) => r.name));
  if (!cols.has('drained_at')) db.run('ALTER TABLE replicas ADD COLUMN drained_at INTEGER');
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
  return db.all<Row>(`SELECT ${COLS} FROM replicas ORDER BY replica_id`).flatMap((r) => entryFrom(r) ?? []);
}

/**
 * Drain or undrain a replica (a repeated drain keeps the first time). Returns its entry as it now
 * is, or null when no row has that id (never heard from, or forgotten past retention).
 */
export function poolSetDrained(db: SqlDb, replicaId: string, drained: boolean, now: number, retentionMs: number): PoolEntry | null {
  db.run('DELETE FROM replicas WHERE last_seen < ?', now - retentionMs);
  if (drained) db.run('UPDATE replicas SET drained_at = ? WHERE replica_id = ? AND drained_at IS NULL', now, replicaId);
  else db.run('UPDATE replicas SET drained_at = NULL WHERE replica_id = ?', replicaId);
  const [row] = db.all<Row>(`SELECT ${COLS} FROM replicas WHERE replica_id = ?`, replicaId);
  return row ? entryFrom(row) : null;
}

const COLS = 'heartbeat, last_seen, first_seen, drained_at';
type Row = { heartbeat: string; last_seen: number; first_seen: number; drained_at: number | null };

function entryFrom(r: Row): PoolEntry | null {
  // Stored rows were validated on the way in; re-validate anyway so a schema change cannot
  // feed the router malformed replicas.
  const hb = Heartbeat.safeParse(JSON.parse(r.heartbeat));
  if (!hb.success) return null;
  return {
    heartbeat: hb.data,
    lastSeen: Number(r.last_seen),
    firstSeen: Number(r.first_seen),
    drainedAt: r.drained_at === null ? null : Number(r.drained_at),
  };
}
