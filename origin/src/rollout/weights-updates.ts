/**
 * Rolling updates on a Node origin with S3 weights: the rollout (rollout/) over this node's
 * content store (revision-store.ts), its swap lock file (swap-lock.ts), an S3 client and the
 * process's available memory, following the configured ref. Called by the composition root;
 * a plain model dir has nothing to follow.
 */
import { freemem } from 'node:os';
import type { OriginConfig } from '../../config.ts';
import type { Engine } from '../../engine/types.ts';
import type { EngineSlot } from '../../rollout/engine-slot.ts';
import { followRef } from '../../rollout/follow-ref.ts';
import type { RolloutMetrics } from '../../rollout/metrics.ts';
import { createRollout, type Rollout } from '../../rollout/rolling-update.ts';
import type { Lifecycle } from '../../server/lifecycle.ts';
import { createS3Client } from '../s3/index.ts';
import { createStoreRevisions } from './revision-store.ts';
import { createNodeSwapLock } from './swap-lock.ts';
import type { ServedWeights } from './weights-source.ts';

export interface WeightsUpdates {
  rollout: Rollout;
  /** Stop polling the ref (an update in progress is stopped by `rollout.stop()`). */
  stopFollowing(): void;
  /** Release the served revision's lease and the S3 client, after the engines closed. */
  close(): Promise<void>;
}

export interface WeightsUpdatesInput {
  config: OriginConfig;
  /** What the replica serves now. */
  weights: ServedWeights;
  slot: EngineSlot;
  lifecycle: Lifecycle;
  newEngine: (target: { dir: string; revision: string }) => Engine;
  /** Push a heartbeat now. */
  announce: () => Promise<void>;
  metrics: RolloutMetrics;
  log: (line: string) => void;
}

/** Lease the served revision and follow the ref (unless polling is off); undefined for a model dir. */
export async function startWeightsUpdates(p: WeightsUpdatesInput): Promise<WeightsUpdates | undefined> {
  const { config, log } = p;
  const source = config.weights;
  if (source.kind !== 's3') return undefined;
  const s3 = createS3Client(source.s3);
  const revisions = createStoreRevisions({ s3, bucket: source.s3.bucket, model: config.modelId, storeDir: source.storeDir, holder: config.replicaId, log });
  const lease = await revisions.lease(p.weights.revision).catch((err: unknown) => {
    s3.destroy();
    throw err;
  });
  const rollout = createRollout({
    slot: p.slot,
    lifecycle: p.lifecycle,
    revisions,
    // Waiting longer than two whole drains of another replica means it is stuck: retry later.
    lock: createNodeSwapLock(source.storeDir, { waitMs: 2 * config.rollout.drainTimeoutMs + 600_000 }),
    createEngine: p.newEngine,
    served: { revision: p.weights.revision, dir: p.weights.dir, lease },
    strategy: config.rollout.strategy,
    backend: config.engine,
    // cgroup-aware where Node provides it: a container's limit, not the host's free memory.
    availableMemory: () => process.availableMemory?.() ?? freemem(),
    drainTimeoutMs: config.rollout.drainTimeoutMs,
    announce: p.announce,
    collectAfterSwap: config.rollout.gcAfterSwap,
    metrics: p.metrics,
    log,
  });
  const follower = config.rollout.pollMs > 0
    ? followRef({ rollout, s3, bucket: source.s3.bucket, model: config.modelId, ref: source.ref, intervalMs: config.rollout.pollMs, log })
    : undefined;
  if (!follower) log('rollout: MOTIF_WEIGHTS_POLL_MS=0: not following the weights ref');
  return {
    rollout,
    stopFollowing: () => follower?.stop(),
    async close() {
      await rollout.release().catch(() => {});
      s3.destroy();
    },
  };
}
