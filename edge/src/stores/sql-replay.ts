/**
 * The replay window of signed internal calls in SQL (shared/signing.ts `ReplayWindow`): one row
 * per accepted request id. In the replay Durable Object every isolate of the Worker refuses an id
 * any of them accepted, and an evicted object still remembers it; on Node a restarted edge (or a
 * second edge process on the host) still refuses an id accepted before.
 */
import { MAX_SKEW_MS, type ReplayWindow } from '#shared/signing.ts';

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
