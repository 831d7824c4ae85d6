/**
 * The replay window of signed internal calls in SQL (shared/signing.ts `ReplayWindow`): one row
 * per accepted request id. In the replay Durable Object every isolate of the Worker refuses an id
 * any of them accepted, and an evicted object still remembers it; on Node a restarted edge (or a
 * second edge process on the host) still refuses an id accepted before.
 */
import { ApiError } from '#shared/errors.ts';
import { MAX_SKEW_MS, ReplayGuard, type ReplayWindow } from '#shared/signing.ts';

/** A ReplayWindow that answers at once (SQLite is synchronous here). */
export interface SyncReplayWindow extends ReplayWindow {
  check(id: string, now?: number): boolean;
}

import { applySchema, type SqlDb } from './sql.ts';

/** How long an id is remembered: a signature is accepted up to the skew either side of now. */
export const REPLAY_WINDOW_MS = 2 * MAX_SKEW_MS;
const PRUNE_EVERY_MS = 10_000;

export const REPLAY_SCHEMA = `
CREATE TABLE IF NOT EXISTS replay_seen (
  request_id TEXT PRIMARY KEY,
  seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replay_seen_at ON replay_seen (seen_at)
`;

/** Create the replay table if missing. */
export function initReplay(db: SqlDb): void {
  applySchema(db, REPLAY_SCHEMA);
}

/**
 * Record `id` at `now`; false when it was already seen within `windowMs`. One statement, so two
 * concurrent claims of one id cannot both win: a new id is inserted, an id last seen outside the
 * window (not pruned yet) is new again, anything else is a replay.
 */
export function replayClaim(db: SqlDb, id: string, now: number, windowMs: number): boolean {
  const rows = db.all(
    `INSERT INTO replay_seen (request_id, seen_at) VALUES (?, ?)
     ON CONFLICT (request_id) DO UPDATE SET seen_at = excluded.seen_at WHERE replay_seen.seen_at < ?
     RETURNING request_id`,
    id,
    now,
    now - windowMs,
  );
  return rows.length === 1;
}

/** Forget ids seen before `cutoff`. */
export function replayPrune(db: SqlDb, cutoff: number): void {
  db.run('DELETE FROM replay_seen WHERE seen_at < ?', cutoff);
}

/** The window over `db` (schema created here), pruning old ids at most every 10 s. */
export function sqlReplayWindow(db: SqlDb, windowMs: number = REPLAY_WINDOW_MS): SyncReplayWindow {
  initReplay(db);
  let prunedAt = Number.NEGATIVE_INFINITY;
  return {
    check(id, now = Date.now()) {
      if (now - prunedAt >= PRUNE_EVERY_MS) {
        replayPrune(db, now - windowMs);
        prunedAt = now;
      }
      return replayClaim(db, id, now, windowMs);
    },
  };
}

/**
 * The SQL window, backed by an in-memory one while its store cannot be written (locked by
 * another process, disk full: `storage_unavailable`). Refusing every heartbeat then would take
 * every replica out of rotation because of a database the routing does not need; the memory
 * window, which sees every id too, still refuses a replay within this process, and only a replay
 * across a restart during the outage could pass (heartbeats are ordered by their `ts`, usage
 * posts deduplicated by the ledger).
 */
export function withMemoryFallback(window: SyncReplayWindow, log: (msg: string) => void, windowMs: number = REPLAY_WINDOW_MS): SyncReplayWindow {
  const memory = new ReplayGuard(windowMs);
  let failing = false;
  return {
    check(id, now = Date.now()) {
      const fresh = memory.check(id, now);
      try {
        const stored = window.check(id, now);
        if (failing) log('replay window: its store takes writes again');
        failing = false;
        return stored && fresh;
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'storage_unavailable')) throw err;
        if (!failing) log(`replay window: its store is unavailable (${err.message}); checking ids in memory meanwhile`);
        failing = true;
        return fresh;
      }
    },
  };
}
