/**
 * Rolling weight updates of one replica (DESIGN §6, §7). `update(revision)`:
 * lease it → stage it (download + verify, serving continues) → take the node's swap lock → swap:
 * - overlap: load the new engine, route new requests to it, let the old one finish its running
 *   requests (bounded by the drain timeout), close it;
 * - drain-first: report `draining` (the edge routes elsewhere), finish running requests, close
 *   the old engine, load the new one, report `ready`.
 * Then the node's `current` moves, the old lease is released and unused revisions are collected.
 * Any failure leaves the previous revision serving (a failed drain-first load reloads it), is
 * logged and counted, and the revision is retried on later polls with backoff (retry-gate.ts).
 */
import { ApiError } from '#shared/errors.ts';
import type { Engine, EngineBackend } from '../engine/types.ts';
import type { Lifecycle, RevisionLease, RevisionStore, StagedRevision, SwapLock } from '../ports.ts';
import type { EngineSlot } from './engine-slot.ts';
import { createRolloutMetrics, type FailureStage, type RolloutMetrics } from './metrics.ts';
import { createRetryGate, type RetryGate } from './retry-gate.ts';
import { chooseSwapStrategy, type SwapStrategy, type SwapStrategyOption } from './strategy.ts';

export interface ServedRevision {
  revision: string;
  dir: string;
  /** The lease that keeps it from gc (absent for a plain model dir). */
  lease?: RevisionLease;
}

export interface RolloutOptions {
  slot: EngineSlot;
  lifecycle: Lifecycle;
  revisions: RevisionStore;
  lock: SwapLock;
  /** A new, unloaded engine for a revision's snapshot dir. */
  createEngine: (target: { dir: string; revision: string }) => Engine;
  /** What the slot serves now. */
  served: ServedRevision;
  strategy: SwapStrategyOption;
  backend: EngineBackend;
  /** Memory the process may still use, bytes (for `auto`). */
  availableMemory: () => number;
  /** How long an old engine may take to finish its running requests before they are cut. */
  drainTimeoutMs: number;
  /** Push the replica's state to the edge now (a heartbeat), so routing follows at once. */
  announce?: () => Promise<void>;
  /** Collect unused revisions after each swap (default true). */
  collectAfterSwap?: boolean;
  gate?: RetryGate;
  metrics?: RolloutMetrics;
  log?: (line: string) => void;
}

export type UpdateResult = 'swapped' | 'unchanged' | 'deferred';

export interface Rollout {
  /** The revision new requests are served from. */
  readonly revision: string;
  readonly metrics: RolloutMetrics;
  /**
   * Move to `revision`. `unchanged` when already served, `deferred` while a failing revision
   * backs off; rejects with ApiError when the update failed (the old revision keeps serving).
   */
  update(revision: string): Promise<UpdateResult>;
  /** Refuse further updates, cancel a sync in progress and wait for the update to settle. */
  stop(): Promise<void>;
  /** Release the served revision's lease (at shutdown, once its engine is closed). */
  release(): Promise<void>;
}

/** Create the rollout of one replica; throws at once on invalid options. */
export function createRollout(o: RolloutOptions): Rollout {
  if (!Number.isInteger(o.drainTimeoutMs) || o.drainTimeoutMs < 0) throw new Error('rollout: drainTimeoutMs must be an integer ≥ 0');
  if (!o.served.revision || !o.served.dir) throw new Error('rollout: the served revision and dir are required');
  const log = o.log ?? (() => {});
  const gate = o.gate ?? createRetryGate();
  const metrics = o.metrics ?? createRolloutMetrics(o.served.revision);
  const stopping = new AbortController();
  let served: ServedRevision = { ...o.served };
  let inFlight: Promise<UpdateResult> | undefined;
  // Set while this rollout holds the lifecycle in `draining` (a drain-first swap, or a replica
  // left without a loaded engine after a failed one).
  let suspended = false;
  let broken = false;

  const announce = async () => {
    await o.announce?.().catch((err: unknown) => log(`rollout: could not announce the state: ${(err as Error).message}`));
  };

  async function overlap(target: StagedRevision): Promise<void> {
    const next = await loaded(target);
    if (stopping.signal.aborted) {
      await next.close();
      stopping.signal.throwIfAborted();
    }
    const old = o.slot.swap(next);
    log(`rollout: new requests go to revision ${target.revision}; the previous engine finishes ${o.slot.pins(old)} running request(s)`);
    await announce();
    await retire(old);
  }

  async function drainFirst(target: StagedRevision): Promise<void> {
    if (!suspended) {
      if (!o.lifecycle.suspend()) throw new ApiError('engine_unavailable', 'The replica is not ready (still starting, or shutting down).');
      suspended = true;
      await announce();
    }
    try {
      log(`rollout: draining (out of rotation) to swap to revision ${target.revision}`);
      await retire(o.slot.current());
      let next: Engine;
      try {
        next = await loaded(target);
      } catch (err) {
        await restorePrevious();
        throw err;
      }
      o.slot.swap(next);
      broken = false;
    } finally {
      if (!broken) {
        suspended = false;
        o.lifecycle.resume();
        await announce();
      }
    }
  }

  /** After a failed drain-first load: serve the previous revision again, or stay out of rotation. */
  async function restorePrevious(): Promise<void> {
    try {
      o.slot.swap(await loaded(served));
      log(`rollout: reloaded revision ${served.revision}`);
    } catch (err) {
      broken = true;
      log(`rollout: could not reload revision ${served.revision} either (${(err as Error).message}); staying out of rotation until an update succeeds`);
    }
  }

  async function loaded(target: { dir: string; revision: string }): Promise<Engine> {
    const engine = o.createEngine(target);
    try {
      await engine.load();
      return engine;
    } catch (err) {
      await engine.close().catch(() => {});
      throw err;
    }
  }

  async function retire(engine: Engine): Promise<void> {
    const { cut, closeError } = await o.slot.retire(engine, o.drainTimeoutMs);
    if (closeError) log(`rollout: closing the previous engine failed: ${closeError.message}`);
    if (cut > 0) {
      metrics.cut(cut);
      log(`rollout: ${cut} request(s) on the previous engine did not finish within ${o.drainTimeoutMs} ms and were cut`);
    }
  }

  async function run(revision: string): Promise<UpdateResult> {
    if (revision === served.revision && !broken) {
      gate.succeeded(revision);
      return 'unchanged';
    }
    if (!gate.admit(revision)) return 'deferred';
    const t0 = Date.now();
    let stage: FailureStage = 'sync';
    let lease: RevisionLease | undefined;
    let target: StagedRevision;
    let strategy: SwapStrategy;
    metrics.inProgress(true);
    try {
      log(`rollout: revision ${revision} published; syncing it while ${served.revision} keeps serving`);
      // Leased before it exists locally, so a gc by another replica cannot remove it mid-swap.
      lease = await o.revisions.lease(revision);
      target = await o.revisions.stage(revision, stopping.signal).catch((err: unknown) => {
        if (err instanceof ApiError && err.code === 'unprocessable_entity') stage = 'verify';
        throw err;
      });
      const choice = chooseSwapStrategy({ option: o.strategy, backend: o.backend, weightBytes: target.weightBytes, availableBytes: o.availableMemory() });
      strategy = choice.strategy;
      log(`rollout: revision ${revision} verified; swapping engines (${strategy}: ${choice.reason})`);
      stage = 'lock';
      await o.lock.run(async () => {
        stage = 'load';
        await (strategy === 'overlap' ? overlap(target) : drainFirst(target));
      }, stopping.signal);
    } catch (err) {
      if (stopping.signal.aborted) stage = 'aborted';
      // The lease file is per revision and replica: the served revision's must stay.
      if (revision !== served.revision) await lease?.release().catch(() => {});
      gate.failed(revision);
      metrics.failed(stage);
      const msg =
        `rollout: update to revision ${revision} failed at ${stage} (attempt ${gate.failures(revision)}): ${(err as Error).message}; ` +
        (broken ? 'no revision is loaded' : `revision ${served.revision} keeps serving`);
      log(msg);
      throw err instanceof ApiError ? err : new ApiError('internal_error', msg, { cause: err });
    } finally {
      metrics.inProgress(false);
    }

    const previous = served;
    served = { revision, dir: target.dir, lease };
    gate.succeeded(revision);
    const seconds = (Date.now() - t0) / 1000;
    metrics.served(revision);
    metrics.swapped(strategy, seconds);
    log(`rollout: serving revision ${revision} (was ${previous.revision}; ${strategy}, ${seconds.toFixed(1)} s)`);
    if (previous.revision !== revision) await previous.lease?.release().catch(() => {});
    // Best effort from here: the swap is done whatever happens to the bookkeeping.
    await o.revisions.activate(revision).catch((err: unknown) => log(`rollout: could not mark ${revision} current in the store: ${(err as Error).message}`));
    if (o.collectAfterSwap ?? true) {
      await o.revisions.collect().catch((err: unknown) => log(`rollout: gc after the swap failed: ${(err as Error).message}`));
    }
    return 'swapped';
  }

  return {
    get revision() {
      return served.revision;
    },
    metrics,
    update(revision) {
      if (stopping.signal.aborted) return Promise.reject(new ApiError('engine_unavailable', 'The replica is shutting down.'));
      if (inFlight) return Promise.reject(new ApiError('conflict', 'An update is already in progress.'));
      const p = run(revision).finally(() => (inFlight = undefined));
      inFlight = p;
      return p;
    },
    async stop() {
      stopping.abort(new ApiError('engine_unavailable', 'The replica is shutting down.'));
      await inFlight?.catch(() => {});
    },
    async release() {
      await served.lease?.release();
    },
  };
}
