/**
 * Which journal writers are still alive. Several origin processes may share one data dir (one
 * replica per GPU on a node), so a process that starts must finalize the journal rows of dead
 * processes only, never those of a live sibling.
 *
 * Each writer holds an exclusive SQLite lock on its own small lock file for as long as it runs.
 * The operating system drops that lock when the process ends in any way, kill -9 included, so
 * "can I take the lock?" answers "is the writer gone?" without pids (which are reused, and differ
 * across containers) or leases (which a stalled event loop lets expire). The file is locked before
 * it is renamed into place, so a visible lock file is either held or abandoned. Like SQLite's WAL
 * itself, this needs a local file system with POSIX locks (not a network share).
 */

import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Database, type SqliteDatabase } from '#shared/adapters/node/sqlite-driver.ts';

export interface OwnerLock {
  /** This writer's id (stored on its journal rows). */
  readonly self: string;
  /** True when the writer `owner` no longer runs (its lock is free or its file is gone). */
  isGone(owner: string): boolean;
  /** Delete the lock files of writers that are gone (call after their rows were finalized). */
  sweep(): void;
  /** Release the lock and delete the file (clean shutdown). */
  release(): void;
}

const LOCK_SUFFIX = '.lock';
const ID = /^[0-9a-f-]{36}$/;

/** Take a fresh owner lock in `dir` (created if missing). */
export function acquireOwnerLock(dir: string): OwnerLock {
  mkdirSync(dir, { recursive: true });
  const self = randomUUID();
  const path = join(dir, `${self}${LOCK_SUFFIX}`);
  const tmp = join(dir, `.${self}.tmp`);
  const db = new Database(tmp);
  db.exec('CREATE TABLE IF NOT EXISTS owner (pid INTEGER, host TEXT, started_at INTEGER)');
  // For people looking at the directory; the lock, not this row, is what counts.
  db.prepare('INSERT INTO owner VALUES (?, ?, ?)').run(process.pid, hostname(), Date.now());
  db.exec('BEGIN EXCLUSIVE');
  renameSync(tmp, path);
  let released = false;

  /** Whether the lock file at `file` is held by a live process. */
  function held(file: string): boolean {
    let probe: SqliteDatabase;
    try {
      probe = new Database(file, { fileMustExist: true, timeout: 0 });
    } catch {
      return false; // removed meanwhile: its writer released it
    }
    try {
      probe.exec('BEGIN IMMEDIATE');
      probe.exec('ROLLBACK');
      return false;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return true;
      throw err;
    } finally {
      probe.close();
    }
  }

  return {
    self,
    isGone(owner) {
      if (owner === self) return released;
      // Anything that is not an owner id cannot have a live writer.
      if (!ID.test(owner)) return true;
      return !held(join(dir, `${owner}${LOCK_SUFFIX}`));
    },
    sweep() {
      // Temp files are left alone: one may belong to a sibling that is locking it right now.
      for (const name of readdirSync(dir)) {
        if (name === `${self}${LOCK_SUFFIX}` || !name.endsWith(LOCK_SUFFIX)) continue;
        const file = join(dir, name);
        if (!held(file)) rmSync(file, { force: true });
      }
    },
    release() {
      if (released) return;
      released = true;
      db.exec('ROLLBACK');
      db.close();
      rmSync(path, { force: true });
    },
  };
}
