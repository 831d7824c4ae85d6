/**
 * The replay window (shared/src/signing.ts `ReplayWindow`) on SQLite, so an origin that restarts
 * still refuses a signed request it accepted before the restart: a captured request stays valid
 * for the signature's clock skew (5 min), far longer than a restart takes.
 *
 * Ids are kept per scope (the replica id): replicas sharing a data dir must each accept the same
 * request id once, because the edge fails a request over to another replica under the same id.
 * Each check is one small commit with synchronous=NORMAL (WAL): it survives a process crash, not
 * a power cut, at a cost of microseconds instead of an fsync per request. Rows older than the
 * window are pruned every `pruneEveryMs`. A disk that is full or failing makes `check` throw
 * `storage_unavailable` (503).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Database } from '#shared/adapters/node/sqlite-driver.ts';
import { MAX_SKEW_MS, type ReplayWindow } from '#shared/signing.ts';
import { storageUnavailable } from '#shared/storage-errors.ts';

export interface SqliteReplayWindowOptions {
  /** Database file (its directory is created); `:memory:` for tests. */
  file: string;
  /** Whose ids these are (the replica id). */
  scope: string;
  /** How long an id is remembered; default twice the allowed clock skew, as `ReplayGuard`. */
  windowMs?: number;
  pruneEveryMs?: number;
  now?: () => number;
  /** How long a check waits for a sibling process's write lock (default 5 s). */
  busyTimeoutMs?: number;
}

export interface SqliteReplayWindow extends ReplayWindow {
  /** Remembered ids of this scope (tests, metrics). */
  size(): number;
  close(): void;
}

/** Open (or create) the replay window; bad options throw here. */
export function openSqliteReplayWindow(opts: SqliteReplayWindowOptions): SqliteReplayWindow {
  const windowMs = opts.windowMs ?? 2 * MAX_SKEW_MS;
  const pruneEveryMs = opts.pruneEveryMs ?? 10_000;
  if (!opts.scope) throw new Error('replay window: scope is required');
  if (!(windowMs > 0) || !(pruneEveryMs > 0)) throw new Error('replay window: windowMs and pruneEveryMs must be positive');
  const clock = opts.now ?? Date.now;
  if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
  const db = new Database(opts.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  db.exec(`
    CREATE TABLE IF NOT EXISTS replay_seen (
      scope      TEXT    NOT NULL,
      request_id TEXT    NOT NULL,
      seen_at    INTEGER NOT NULL,
      PRIMARY KEY (scope, request_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS replay_seen_at ON replay_seen (seen_at);
  `);
  // Inserted: a new id. Updated: an id last seen outside the window (not pruned yet), which is
  // new again. Neither: a replay. One statement, so the answer is exact without a read first.
  const claim = db.prepare(`
    INSERT INTO replay_seen (scope, request_id, seen_at) VALUES (?, ?, ?)
    ON CONFLICT (scope, request_id) DO UPDATE SET seen_at = excluded.seen_at WHERE replay_seen.seen_at < ?`);
  const prune = db.prepare('DELETE FROM replay_seen WHERE seen_at < ?');
  const count = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM replay_seen WHERE scope = ?');
  let prunedAt = -Infinity;

  return {
    check(id, now = clock()) {
      const cutoff = now - windowMs;
      try {
        if (now - prunedAt >= pruneEveryMs) {
          prune.run(cutoff);
          prunedAt = now;
        }
        return claim.run(opts.scope, id, now, cutoff).changes === 1;
      } catch (err) {
        // A request whose id cannot be remembered cannot be protected from replay: refused with a
        // retryable 503 (the edge tries another replica), not a 500.
        throw storageUnavailable(err, 'replay window') ?? err;
      }
    },
    size() {
      return count.get(opts.scope)?.n ?? 0;
    },
    close() {
      db.close();
    },
  };
}
