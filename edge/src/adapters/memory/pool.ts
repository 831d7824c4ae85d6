/**
 * In-process pool registry: the latest heartbeat per replica. Used by the Node edge (one
 * process sees every heartbeat) and by tests. Entries older than the retention window are
 * dropped so a decommissioned replica does not linger forever. Drain marks live in this process
 * only: a restarted edge forgets them, and every drained replica is back in rotation.
 */
import { ApiError } from '#shared/errors.ts';
import { type Heartbeat, isLateHeartbeat } from '#shared/protocol.ts';
import type { PoolEntry, PoolView } from '../../ports.ts';

export interface MemoryPoolOptions {
  /** How long a silent replica stays listed (not routable) before it is forgotten; default 10 min. */
  retentionMs?: number;
  /** Upper bound on replicas remembered (protects memory from a misbehaving origin). */
  maxReplicas?: number;
}

/** Create an in-memory pool. */
export function memoryPool(opts: MemoryPoolOptions = {}): PoolView {
  const retentionMs = opts.retentionMs ?? 10 * 60_000;
  const maxReplicas = opts.maxReplicas ?? 10_000;
  if (!(retentionMs > 0)) throw new Error('memoryPool: retentionMs must be positive');
  if (!(maxReplicas > 0)) throw new Error('memoryPool: maxReplicas must be positive');
  const entries = new Map<string, PoolEntry>();

  function prune(now: number): void {
    for (const [id, e] of entries) if (now - e.lastSeen > retentionMs) entries.delete(id);
  }

  return {
    async upsert(hb: Heartbeat, receivedAt: number): Promise<void> {
      const prev = entries.get(hb.replica_id);
      if (prev && isLateHeartbeat(prev.heartbeat.ts, hb.ts)) return;
      if (!prev) {
        prune(receivedAt);
        if (entries.size >= maxReplicas) throw new ApiError('overloaded', 'The pool registry is full.');
      }
      entries.set(hb.replica_id, { heartbeat: hb, lastSeen: receivedAt, firstSeen: prev?.firstSeen ?? receivedAt, drainedAt: prev?.drainedAt ?? null });
    },
    async list(now: number): Promise<PoolEntry[]> {
      prune(now);
      return [...entries.values()];
    },
    async setDrained(replicaId: string, drained: boolean, now: number): Promise<PoolEntry | null> {
      prune(now);
      const e = entries.get(replicaId);
      if (!e) return null;
      const next = { ...e, drainedAt: drained ? (e.drainedAt ?? now) : null };
      entries.set(replicaId, next);
      return next;
    },
  };
}
