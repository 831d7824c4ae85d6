/**
 * What a rolling update needs from the node (DESIGN §6): the local weights store (stage a revision
 * without activating it, lease it, activate it, collect garbage) and a node-wide swap lock, so the
 * replicas of one node (one per GCD) never swap at the same time. Node adapters implement them
 * over the content store in adapters/node/; tests use the in-memory versions below.
 */

export interface StagedRevision {
  revision: string;
  /** The verified snapshot (an HF-style model dir) the new engine loads. */
  dir: string;
  /** Bytes of weight files, for the overlap-or-drain-first decision. */
  weightBytes: number;
}

export interface RevisionLease {
  /** Idempotent. */
  release(): Promise<void>;
}

export interface RevisionStore {
  /**
   * Download what the store lacks and verify every file (sha256, safetensors header), without
   * moving the node's `current`. Rejects (ApiError) when a file does not verify.
   */
  stage(revision: string, signal: AbortSignal): Promise<StagedRevision>;
  /** Keep `revision` from garbage collection while this replica may serve it. */
  lease(revision: string): Promise<RevisionLease>;
  /** Make `revision` the node's `current` (what a restart serves while S3 is down). */
  activate(revision: string): Promise<void>;
  /** Remove revisions that are neither current nor leased by a live replica. */
  collect(): Promise<void>;
}

export interface SwapLock {
  /** Run `fn` while holding the node's swap lock; waits while another replica holds it. */
  run<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T>;
}

/** A swap lock for replicas in one process (tests, and a single-replica node). */
export function createMemorySwapLock(): SwapLock {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run(fn, signal) {
      const mine = tail.then(() => {
        signal.throwIfAborted();
        return fn();
      });
      // The next holder waits for this one whether it succeeded or not.
      tail = mine.catch(() => {});
      return mine;
    },
  };
}
