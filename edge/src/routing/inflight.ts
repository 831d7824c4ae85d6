/**
 * This edge's in-flight requests per replica: acquired when a request is sent, released exactly
 * once when its response ends (completed, failed or cancelled). Feeds the least-load picker.
 */
export interface InflightTracker {
  get(replicaId: string): number;
  /** Count one request; the returned release is idempotent. */
  acquire(replicaId: string): () => void;
}

/** Create a tracker. */
export function inflightTracker(): InflightTracker {
  const counts = new Map<string, number>();
  return {
    get: (id) => counts.get(id) ?? 0,
    acquire(id) {
      counts.set(id, (counts.get(id) ?? 0) + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const n = (counts.get(id) ?? 1) - 1;
        if (n <= 0) counts.delete(id);
        else counts.set(id, n);
      };
    },
  };
}
