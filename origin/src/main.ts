/**
 * The origin's composition root (DESIGN §2): config → weights (local dir, or S3 sync with a local
 * snapshot as fallback) → engine (from the registry, in a swappable slot) → HTTP server →
 * heartbeat and usage delivery → load → ready → follow the weights ref (rolling updates). The
 * only place that picks adapters (SQLite outbox, Node HTTP, S3, the weights store's files).
 * Run directly (`tsx origin/src/main.ts`) it reads the environment and handles SIGINT/SIGTERM:
 * say `draining` to the edge, let running requests finish (bounded), flush the outbox, close.
 */
import { mkdirSync } from 'node:fs';
import { freemem, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Heartbeat } from '#shared/protocol.ts';
import { nodeEngineLoaders } from './adapters/node/engine/engine-loaders.ts';
import { nodeVllmEngines } from './adapters/node/engine/vllm-process.ts';
import { listenHttp } from './adapters/node/http-server.ts';
import { nodeLoopDelayGauges } from './adapters/node/loop-delay.ts';
import { createStoreRevisions } from './adapters/node/revision-store.ts';
import { openSqliteUsageStore } from './adapters/node/sqlite-journal.ts';
import { openSqliteReplayWindow } from './adapters/node/sqlite-replay-window.ts';
import { createNodeSwapLock } from './adapters/node/swap-lock.ts';
import { prepareWeights } from './adapters/node/weights-source.ts';
import { createS3Client } from './adapters/s3/index.ts';
import { ConfigError, loadOriginConfig, type OriginConfig } from './config.ts';
import { createEngine } from './engine/registry.ts';
import type { Engine } from './engine/types.ts';
import { createEdgeClient } from './pool/edge-client.ts';
import { createHeartbeat, type HeartbeatLoop } from './pool/heartbeat.ts';
import type { Lifecycle, ServedWeights } from './ports.ts';
import { createEngineSlot, type EngineSlot } from './rollout/engine-slot.ts';
import { createRolloutMetrics, type RolloutMetrics } from './rollout/metrics.ts';
import { startWeightsUpdates, type WeightsUpdates } from './rollout/weights-updates.ts';
import { createAdmission } from './server/admission.ts';
import { createOriginApp } from './server/app.ts';
import { createLifecycle, drainReplica, withEngineHealth } from './server/lifecycle.ts';
import { createOriginMetrics } from './server/metrics.ts';
import { createUsageDeliverer, type UsageDeliverer } from './usage/deliverer.ts';
import { holdRecordsOnFailure } from './usage/held-records.ts';
import { createUsageJournal } from './usage/journal.ts';

export interface OriginHandle {
  /** The URL this replica advertises to the edge. */
  url: string;
  /** Drain (bounded by the config's drain timeout), flush usage, stop everything. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  log?: (line: string) => void;
}

/** Start an origin replica from a validated config; resolves once it is ready to serve. */
export async function startOrigin(config: OriginConfig, opts: StartOptions = {}): Promise<OriginHandle> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });

  const weights = await prepareWeights(config.modelId, config.weights, log);
  const newEngine = engineFactory(config, log);
  if (config.engine === 'sim') {
    log(
      `origin: MOTIF_ENGINE=sim: the load-test simulator, not the model, answers every request (MOTIF_SIM=${JSON.stringify(config.sim)}); never serve users with it`,
    );
  }
  // Requests pin the slot's current engine; a rolling update swaps it underneath them.
  const slot = createEngineSlot(newEngine(weights));
  const engine = slot.engine;
  const rolloutMetrics = createRolloutMetrics(weights.revision);

  // Outbox + crash journal in one database: a request's final record replaces its journal row atomically.
  const outbox = openSqliteUsageStore({ file: join(dataDir, 'usage-outbox.sqlite'), log });
  // A full or failing disk: records of running requests wait in memory, new requests are refused.
  const usageStore = holdRecordsOnFailure({ journal: outbox.journal, outbox, probe: () => outbox.probe() }, { log });
  const metrics = createOriginMetrics();
  const loopGauges = nodeLoopDelayGauges();
  const lifecycle = withEngineHealth(createLifecycle(), () => engine.healthy?.() ?? true);
  // Admission lets exactly as many requests reach the engine as it runs at once; the rest wait
  // here, where the wait is bounded and cancellable, or are refused so the edge can fail over.
  const admission = createAdmission({ maxConcurrent: config.limits.maxRunning, maxQueue: config.limits.maxQueue });
  const edge =
    config.edgeUrl && config.nodeKey ? createEdgeClient({ baseUrl: config.edgeUrl, signingKey: config.nodeKey, replicaId: config.replicaId }) : undefined;
  let deliverer: UsageDeliverer | undefined;
  if (edge) {
    deliverer = createUsageDeliverer({
      outbox: usageStore.outbox,
      client: edge,
      log,
      onDelivered: (n) => metrics.usageDelivered(n),
      onFailure: () => metrics.usageDeliveryFailed(),
    });
  } else {
    log('origin: MOTIF_EDGE_URL is not set: no heartbeat, usage records stay in the local outbox');
  }
  const usage = createUsageJournal({ store: usageStore.journal, now: () => Date.now(), log, onAppended: () => deliverer?.notify() });
  await usage.recover(); // requests a killed predecessor left running are billed now, as outcome error
  usage.start();
  const replayWindow = openSqliteReplayWindow({ file: join(dataDir, 'replay-window.sqlite'), scope: config.replicaId });

  const app = createOriginApp({
    engine,
    usage,
    metrics,
    lifecycle,
    admission,
    log,
    pinEngine: () => slot.pin(),
    extraMetrics: () => rolloutMetrics.render() + loopGauges.render(),
    keyring: config.keyring,
    replayGuard: replayWindow,
    clock: { now: () => Date.now() },
    replica: { replicaId: config.replicaId, nodeId: config.nodeId },
    outboxBacklog: () => outbox.backlog() + usageStore.undelivered(),
    usageWritable: () => usageStore.writable(),
    metricsAccess: config.metricsAccess,
  });
  const server = await listenHttp(app.fetch, config.host, config.port).catch(async (err: unknown) => {
    outbox.close();
    replayWindow.close();
    await engine.close();
    throw err;
  });
  const url = config.publicUrl ?? `http://${config.host}:${server.port}`;
  log(`origin: replica ${config.replicaId} listening on ${url} (model ${config.modelId}, revision ${weights.revision}, engine ${config.engine})`);
  if (!config.metricsAccess) log('origin: /metrics is closed: set MOTIF_ORIGIN_METRICS_TOKEN for a scraper, or MOTIF_ORIGIN_METRICS_PUBLIC=1');

  let heartbeat: HeartbeatLoop | undefined;
  if (edge) {
    heartbeat = createHeartbeat({ client: edge, snapshot: () => snapshot(), intervalMs: config.heartbeatMs, log, onResult: (ok) => metrics.heartbeatSent(ok) });
    heartbeat.start();
  }
  deliverer?.start();
  // A beat already in flight carries the state from before a change: send one more after it.
  const announce = async () => {
    await heartbeat?.beat();
    await heartbeat?.beat();
  };

  function snapshot(): Heartbeat {
    const s = engine.stats();
    const { maxPromptBytes } = engine.info();
    return {
      replica_id: config.replicaId,
      node_id: config.nodeId,
      url,
      model: config.modelId,
      revision: engine.info().revision,
      state: lifecycle.state,
      waiting: s.waiting + admission.waiting,
      running: s.running,
      max_running: s.maxRunning,
      max_waiting: config.limits.maxQueue,
      kv_usage: Math.min(1, Math.max(0, s.kvUsage)),
      tokens_per_s: Math.max(0, s.tokensPerSecond),
      ts: Date.now(),
      ...(maxPromptBytes ? { max_prompt_bytes: maxPromptBytes } : {}),
    };
  }

  let updates: WeightsUpdates | undefined;
  let closing: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    updates?.stopFollowing();
    // An update in progress is cancelled (its sync aborts; a half-loaded engine is closed).
    const updateSettled = updates?.rollout.stop() ?? Promise.resolve();
    const drained = drainReplica({ lifecycle, admission, engine, log });
    // A beat in state `draining` takes the replica out of rotation now, not after the TTL.
    await announce();
    await heartbeat?.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = Promise.all([drained, updateSettled]).then(() => false);
    const timedOut = await Promise.race([finished, new Promise<boolean>((r) => (timer = setTimeout(() => r(true), config.drainTimeoutMs)))]);
    clearTimeout(timer);
    if (timedOut) log(`origin: drain timed out after ${config.drainTimeoutMs} ms; cutting ${admission.running} running request(s)`);
    // Cut connections still open: their requests abort and write their usage records.
    await server.close(timedOut ? 0 : 1_000);
    await engine.close();
    await updates?.close();
    await usage.close();
    if (deliverer) {
      const left = await deliverer.flush(5_000);
      if (left > 0) log(`origin: ${left} usage record(s) stay in the outbox for the next start`);
    }
    usageStore.close();
    outbox.close();
    replayWindow.close();
    loopGauges.close();
    log('origin: stopped');
  }

  try {
    await engine.load();
  } catch (err) {
    await shutdown().catch(() => {});
    throw err;
  }
  lifecycle.markReady();
  log(`origin: ready (max context ${engine.info().maxContextTokens} tokens, max running ${config.limits.maxRunning})`);
  try {
    updates = await followWeightsRef(config, { weights, slot, lifecycle, newEngine, announce, metrics: rolloutMetrics, log });
  } catch (err) {
    await shutdown().catch(() => {});
    throw err;
  }
  return { url, close: () => (closing ??= shutdown()) };
}

/** Engines for a revision's snapshot dir, as the config says (backend, limits, kernels, simulator tuning or vLLM recipe). */
function engineFactory(config: OriginConfig, log: (line: string) => void): (target: { dir: string; revision: string }) => Engine {
  const { maxRunning, maxQueue, kvBudgetTokens, kvBudgetBytes } = config.limits;
  if (config.engine === 'vllm') return nodeVllmEngines(config.vllm, { modelId: config.modelId, maxRunning }, { log, prefix: `vllm[${config.replicaId}]` });
  const limits = { maxRunning, maxQueue, ...(kvBudgetTokens !== undefined ? { kvBudgetTokens } : {}) };
  // The simulator sizes its KV in tokens (its default models a GPU, not this host's memory).
  const backend = config.engine === 'sim' ? config.sim : { kvBudgetBytes, kernels: config.kernels, weightsQuant: config.weightsQuant };
  return (target) =>
    createEngine(config.engine, { modelDir: target.dir, modelId: config.modelId, revision: target.revision, ...limits, ...backend }, nodeEngineLoaders());
}

interface ServingParts {
  weights: ServedWeights;
  slot: EngineSlot;
  lifecycle: Lifecycle;
  newEngine: (target: { dir: string; revision: string }) => Engine;
  announce: () => Promise<void>;
  metrics: RolloutMetrics;
  log: (line: string) => void;
}

/**
 * Rolling updates for S3 weights: the rollout over this node's content store, its swap lock file
 * and an S3 client, following the configured ref. A plain model dir has nothing to follow.
 */
async function followWeightsRef(config: OriginConfig, p: ServingParts): Promise<WeightsUpdates | undefined> {
  const source = config.weights;
  if (source.kind !== 's3') return undefined;
  const s3 = createS3Client(source.s3);
  const { bucket } = source.s3;
  try {
    const updates = await startWeightsUpdates({
      ...p,
      objectStore: s3,
      bucket,
      model: config.modelId,
      ref: source.ref,
      revisions: createStoreRevisions({ s3, bucket, model: config.modelId, storeDir: source.storeDir, holder: config.replicaId, log: p.log }),
      // Waiting longer than two whole drains of another replica means it is stuck: retry later.
      lock: createNodeSwapLock(source.storeDir, { waitMs: 2 * config.rollout.drainTimeoutMs + 600_000 }),
      backend: config.engine,
      // cgroup-aware where Node provides it: a container's limit, not the host's free memory.
      availableMemory: () => process.availableMemory?.() ?? freemem(),
      settings: config.rollout,
    });
    return {
      ...updates,
      async close() {
        await updates.close();
        s3.destroy();
      },
    };
  } catch (err) {
    s3.destroy();
    throw err;
  }
}

/** `tsx origin/src/main.ts`: config from the environment, exit 1 with a clear message on failure. */
async function runFromCli(): Promise<void> {
  let config: OriginConfig;
  try {
    config = loadOriginConfig(process.env, { hostname: hostname() });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  let handle: OriginHandle;
  try {
    handle = await startOrigin(config);
  } catch (err) {
    console.error(`origin: failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
  const stop = (sig: string) => {
    console.log(`origin: ${sig} received, shutting down`);
    handle.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`origin: shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) void runFromCli();
