/**
 * The Node edge's limiter, by scope (MOTIF_EDGE_LIMITS_SCOPE):
 *
 * - `solo` (the default: one edge process per host, as `npm start`, the appliance and the k8s
 *   manifests run it): decisions in memory, the same engine over Maps, a few microseconds per
 *   request instead of two SQLite transactions. Exact because the host lock (host-lock.ts) keeps
 *   any other edge process from deciding for the host. The state starts from the limits file; what
 *   changed is written back every `saveEveryMs` and at close: a restart keeps the month's
 *   token counters, the rate windows and the leases in flight; a crash loses at most the last
 *   interval's changes. Writing it back can fail (a full disk) without a request failing: the
 *   state in memory is the one that decides, and the next interval tries again.
 * - `shared` (several edge processes on one host): every operation one transaction on the limits
 *   file (stores/sql-limits.ts), so the processes take turns and the counts stay exact; operations
 *   arriving together share a transaction (group commit).
 */

import type { LimitsChanges } from '../../middleware/limits/engine.ts';
import type { Limiter } from '../../ports.ts';
import { sqlLimiter } from '../../stores/sql-limits.ts';
import { readLimitsSnapshot, writeLimitsChanges } from '../../stores/sql-limits-snapshot.ts';
import { limiterOver, memoryLimitsRepo } from '../memory/limiter.ts';
import { type HostLock, type LimitsScope, LockConflict, lockLimits } from './host-lock.ts';
import { openSqlite } from './sqlite.ts';

export interface HostLimiterOptions {
  scope: LimitsScope;
  /** WAL pages after which a commit checkpoints (see openSqlite). */
  autoCheckpointPages?: number;
  /** Solo: how often the state goes back to the file when it changed (default 1000 ms). */
  saveEveryMs?: number;
  /** How long a conflicting host lock is waited for (default 5000 ms). */
  lockWaitMs?: number;
  /** Shared: how long the ends of requests wait to share a transaction (default 5 ms). */
  settleBatchMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface HostLimiter {
  limiter: Limiter;
  /** Write a solo state back, close the file, release the host lock. */
  close(): void;
}

/** Two rounds of changes as one, applied in order (upserts, then deletes: lease ids are never reused). */
function mergeChanges(a: LimitsChanges, b: LimitsChanges): LimitsChanges {
  return {
    buckets: [...a.buckets, ...b.buckets],
    leases: [...a.leases, ...b.leases],
    goneLeases: [...a.goneLeases, ...b.goneLeases],
    months: [...a.months, ...b.months],
  };
}

/**
 * Take the host lock for `opts.scope` and open the limiter. A conflicting lock is waited for up
 * to `opts.lockWaitMs` (default 5 s: an edge restarted while the one before it still closes its
 * files), then reported with an error naming MOTIF_EDGE_LIMITS_SCOPE.
 */
export async function openHostLimiter(limitsFile: string, opts: HostLimiterOptions): Promise<HostLimiter> {
  const until = Date.now() + (opts.lockWaitMs ?? 5000);
  let lock: HostLock;
  for (;;) {
    try {
      lock = lockLimits(limitsFile, opts.scope, 'MOTIF_EDGE_LIMITS_SCOPE');
      break;
    } catch (err) {
      if (!(err instanceof LockConflict) || Date.now() >= until) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  let file: ReturnType<typeof openSqlite> | undefined;
  try {
    // synchronous=NORMAL: losing the last commits on power loss forgives a few requests, and
    // the hot path pays no fsync.
    file = openSqlite(limitsFile, { synchronous: 'NORMAL', autoCheckpointPages: opts.autoCheckpointPages });
    const db = file.db;
    if (opts.scope === 'shared') {
      const settleMs = opts.settleBatchMs ?? 5;
      const limiter = sqlLimiter(db, { defer: setImmediate, deferSettle: (run) => setTimeout(run, settleMs) });
      const opened = file;
      return {
        limiter,
        close() {
          opened.close();
          lock.release();
        },
      };
    }
    const repo = memoryLimitsRepo(readLimitsSnapshot(db));
    const inner = limiterOver(repo);
    // Written back as changes, so the cost per interval follows the traffic of that interval,
    // not the number of tenants and keys. A failed write is merged into the next one.
    let pending: LimitsChanges | undefined;
    const save = () => {
      const next = repo.changes();
      const all = pending ? mergeChanges(pending, next) : next;
      if (all.buckets.length + all.leases.length + all.goneLeases.length + all.months.length === 0) return;
      try {
        writeLimitsChanges(db, all);
        pending = undefined;
      } catch (err) {
        pending = all;
        opts.log?.('limits: saving the state failed (tried again next interval)', { error: String(err) });
      }
    };
    const timer = setInterval(save, opts.saveEveryMs ?? 1000);
    timer.unref();
    const opened = file;
    return {
      limiter: inner,
      close() {
        clearInterval(timer);
        save();
        opened.close();
        lock.release();
      },
    };
  } catch (err) {
    file?.close();
    lock.release();
    throw err;
  }
}
