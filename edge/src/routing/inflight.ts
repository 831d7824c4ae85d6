/**
 * This edge's in-flight requests per replica: acquired when a request is sent, released exactly
 * once when its response ends (completed, failed or cancelled). Of those, the ones still waiting
 * for their first token: queued or in prefill at the replica, where a new request would wait
 * behind them. Feeds the load scorers, the pickers and the prefill scorer.
 */

/** One request's hold on a replica: call it to release; `started()` once its first token arrived. */
export type InflightSlot = (() => void) & { started(): void };

/** A slot that holds nothing (an answer already read, no longer counted anywhere). */
export const NO_SLOT: InflightSlot = Object.assign(() => {}, { started: () => {} });

export interface InflightTracker {
  get(replicaId: string): number;
  /** Requests to the replica that have not had their first token yet. */
  awaiting(replicaId: string): number;
  /** Count one request; the slot's release and `started` are idempotent. */
  acquire(replicaId: string): InflightSlot;
}

/** Create a tracker. */
export function inflightTracker(): InflightTracker {
  const counts = new Map<string, number>();
  const waiting = new Map<string, number>();
  const add = (m: Map<string, number>, id: string, d: number) => {
    const n = (m.get(id) ?? 0) + d;
    if (n <= 0) m.delete(id);
    else m.set(id, n);
  };
  return {
    get: (id) => counts.get(id) ?? 0,
    awaiting: (id) => waiting.get(id) ?? 0,
    acquire(id) {
      add(counts, id, 1);
      add(waiting, id, 1);
      let released = false;
      let started = false;
      const start = () => {
        if (started) return;
        started = true;
        add(waiting, id, -1);
      };
      const release = () => {
        if (released) return;
        released = true;
        start();
        add(counts, id, -1);
      };
      return Object.assign(release, {
        started: () => {
          if (!released) start();
        },
      });
    },
  };
}
