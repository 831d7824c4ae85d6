/**
 * Which edge processes of a host may decide limits, enforced with SQLite's file locks on
 * `<limits file>.lock`. A solo edge holds an exclusive lock for its lifetime: it decides in memory,
 * which is exact only while no other process decides too. Shared edges each hold a shared lock and
 * decide in the limits file, one transaction per operation. So a second solo edge, a shared edge
 * beside a solo one, or a solo edge beside shared ones cannot start: it gets an error naming the
 * setting, instead of two processes each admitting a tenant's whole limit. The locks go with the
 * process (also when it is killed), so a crashed edge never blocks the next one.
 */
import { Database } from '#shared/adapters/node/sqlite-driver.ts';

export type LimitsScope = 'solo' | 'shared';

export interface HostLock {
  release(): void;
}

/** Another process holds a lock this one cannot share. */
export class LockConflict extends Error {}

/** Take the host's limits lock for `scope`; throws a LockConflict naming `setting` when another process's lock conflicts. */
export function lockLimits(limitsFile: string, scope: LimitsScope, setting: string): HostLock {
  const db = new Database(`${limitsFile}.lock`, { timeout: 0 });
  try {
    // The lock file holds no data: no journal file beside it.
    db.pragma('journal_mode = MEMORY');
    if (scope === 'solo') {
      db.pragma('locking_mode = EXCLUSIVE');
      // In exclusive locking mode the lock a write transaction takes is kept until the connection closes.
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } else {
      // A read transaction left open holds a shared lock, which an exclusive one cannot join.
      db.exec('BEGIN');
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    }
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    throw new LockConflict(
      scope === 'solo'
        ? `another edge process on this host uses ${limitsFile}: with several edge processes per host, set ${setting}=shared on every one of them`
        : `a solo edge process on this host holds ${limitsFile}: stop it, or set ${setting}=shared on every edge process of the host`,
    );
  }
  return { release: () => db.close() };
}
