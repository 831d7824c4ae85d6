/**
 * The replica's lifecycle: `starting` (weights/engine loading) → `ready` → `draining`. One object
 * shared by the server (/readyz, admission, /admin/drain), the heartbeat (its state field) and the
 * composition root (SIGTERM), so every path into draining runs the same steps once.
 *
 * A drain-first engine swap (rolling weight update) also reports `draining`, but only for a
 * while: `suspend()` … `resume()`. The edge takes the replica out of rotation meanwhile; a real
 * drain (shutdown) that begins during the swap wins, and `resume()` then leaves it draining.
 */
import type { ReplicaState } from '#shared/protocol.ts';
import type { Engine } from '../engine/types.ts';
import type { Lifecycle } from '../ports.ts';
import type { Admission } from './admission.ts';

/** A lifecycle starting in `starting` (or the given state, for tests). */
export function createLifecycle(initial: ReplicaState = 'starting'): Lifecycle {
  let state: ReplicaState = initial;
  let drained: Promise<void> | undefined;
  let suspended = false;
  return {
    get state() {
      return state;
    },
    markReady() {
      if (state === 'starting') state = 'ready';
    },
    drain(steps) {
      if (!drained) {
        state = 'draining';
        drained = steps();
      }
      return drained;
    },
    suspend() {
      if (state !== 'ready' || drained) return false;
      suspended = true;
      state = 'draining';
      return true;
    },
    resume() {
      if (!suspended) return;
      suspended = false;
      if (!drained) state = 'ready';
    },
  };
}

/**
 * `lifecycle` as the outside sees it (/readyz, heartbeats, admission): a ready replica whose
 * engine cannot serve for a while (a supervised vLLM restarting) reports `starting`, so the edge
 * routes elsewhere until the engine is back. Transitions pass through to `lifecycle`.
 */
export function withEngineHealth(lifecycle: Lifecycle, healthy: () => boolean): Lifecycle {
  return {
    get state() {
      const s = lifecycle.state;
      return s === 'ready' && !healthy() ? 'starting' : s;
    },
    markReady: () => lifecycle.markReady(),
    drain: (steps) => lifecycle.drain(steps),
    suspend: () => lifecycle.suspend(),
    resume: () => lifecycle.resume(),
  };
}

/**
 * Drain this replica: refuse new and queued requests (503, so the edge retries elsewhere), then
 * wait for the engine to finish the running ones. Never rejects.
 */
export function drainReplica(parts: { lifecycle: Lifecycle; admission: Admission; engine: Engine; log?: (line: string) => void }): Promise<void> {
  return parts.lifecycle.drain(async () => {
    parts.log?.('origin: draining: refusing new requests, finishing running ones');
    parts.admission.close('This replica is draining.');
    try {
      await parts.engine.drain();
    } catch (err) {
      parts.log?.(`origin: engine drain failed: ${(err as Error).message}`);
    }
  });
}
