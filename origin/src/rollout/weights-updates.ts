/**
 * Rolling updates of one replica, assembled from ports: the rollout (rolling-update.ts) over the
 * node's revision store and swap lock, following the weights ref in the object store the
 * revisions are published to. The composition root picks the adapters (the content store's
 * revisions, the swap lock file, an S3 client) and owns their lifetime; a plain model dir has
 * nothing to follow and never gets here.
 */
import type { Engine, EngineBackend } from '../engine/types.ts';
import type { Lifecycle, RevisionStore, ServedWeights, SwapLock } from '../ports.ts';
import type { ObjectStore } from '../weights/object-store.ts';
import type { EngineSlot } from './engine-slot.ts';
import { followRef } from './follow-ref.ts';
import type { RolloutMetrics } from './metrics.ts';
import { createRollout, type Rollout } from './rolling-update.ts';
import type { SwapStrategyOption } from './strategy.ts';

export interface WeightsUpdates {
  rollout: Rollout;
  /** Stop polling the ref (an update in progress is stopped by `rollout.stop()`). */
  stopFollowing(): void;
  /** Release the served revision's lease, after the engines closed. */
  close(): Promise<void>;
}

/** The rollout settings of the origin's config (MOTIF_WEIGHTS_POLL_MS, MOTIF_SWAP_* …). */
export interface WeightsUpdatesSettings {
  /** Ref poll interval, ms; 0 = never follow the ref. */
  pollMs: number;
  strategy: SwapStrategyOption;
  drainTimeoutMs: number;
  gcAfterSwap: boolean;
}

export interface WeightsUpdatesInput {
  /** Where the model's refs live. */
  objectStore: ObjectStore;
  bucket: string;
  model: string;
  ref: string;
  revisions: RevisionStore;
  lock: SwapLock;
  /** What the replica serves now. */
  weights: ServedWeights;
  slot: EngineSlot;
  lifecycle: Lifecycle;
  newEngine: (target: { dir: string; revision: string }) => Engine;
  backend: EngineBackend;
  /** Memory the process may still use, bytes (for the `auto` strategy). */
  availableMemory: () => number;
  settings: WeightsUpdatesSettings;
  /** Push a heartbeat now. */
  announce: () => Promise<void>;
  metrics: RolloutMetrics;
  log: (line: string) => void;
}

/** Lease the served revision and follow the ref (unless polling is off). */
export async function startWeightsUpdates(p: WeightsUpdatesInput): Promise<WeightsUpdates> {
  const { settings, log } = p;
  const lease = await p.revisions.lease(p.weights.revision);
  const rollout = createRollout({
    slot: p.slot,
    lifecycle: p.lifecycle,
    revisions: p.revisions,
    lock: p.lock,
    createEngine: p.newEngine,
    served: { revision: p.weights.revision, dir: p.weights.dir, lease },
    strategy: settings.strategy,
    backend: p.backend,
    availableMemory: p.availableMemory,
    drainTimeoutMs: settings.drainTimeoutMs,
    announce: p.announce,
    collectAfterSwap: settings.gcAfterSwap,
    metrics: p.metrics,
    log,
  });
  const follower =
    settings.pollMs > 0 ? followRef({ rollout, s3: p.objectStore, bucket: p.bucket, model: p.model, ref: p.ref, intervalMs: settings.pollMs, log }) : undefined;
  if (!follower) log('rollout: MOTIF_WEIGHTS_POLL_MS=0: not following the weights ref');
  return {
    rollout,
    stopFollowing: () => follower?.stop(),
    async close() {
      await rollout.release().catch(() => {});
    },
  };
}
