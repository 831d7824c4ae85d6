/**
 * The appliance in a box: embedded S3 → generated (or given) model published through the real
 * publish path → one origin that syncs the weights from S3 → the edge (Node, or a Worker in
 * workerd). Used by `npm start` and by the end-to-end tests, so both run the same wiring.
 * Ports are checked before anything starts; each child joins `processes` as it is spawned, and
 * `signal` aborts start-up between and during its steps (what started is stopped).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { STACK_NODE_ID, type StackConfig, stackPorts } from './config.ts';
import { type ManagedProcess, ProcessSet, portProblem, REPO_ROOT as ROOT, spawnNode, spawnTsx, waitForHttp } from './processes.ts';
import { ensurePublished, type S3Handle, startS3 } from './weights.ts';

export interface Stack {
  edgeUrl: string;
  originUrl: string;
  /** Bearer token for the origin's /metrics (undefined: it is public). */
  originMetricsToken: string | undefined;
  apiKey: string;
  model: string;
  s3: S3Handle;
  edge: ManagedProcess;
  origin: ManagedProcess;
  /** Start the origin again after it stopped or was killed (same config). */
  restartOrigin(): Promise<void>;
  /** Start the edge again after it stopped or was killed (same port and data dir). */
  restartEdge(): Promise<void>;
  /**
   * One more origin replica beside the first: its own port and data dir, the same S3, edge and
   * keyring. Resolves once it answers /readyz (the edge lists it after its first heartbeat).
   */
  addOrigin(replicaId: string, port: number, env?: NodeJS.ProcessEnv): Promise<ManagedProcess>;
  stop(): Promise<void>;
}

export interface StackOptions {
  log: (line: string) => void;
  /** Extra env for the origin process (tests tune engine limits this way). */
  originEnv?: NodeJS.ProcessEnv;
  /** Extra env for a Node edge (tests set its admin token and limits this way). */
  edgeEnv?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Children are added here the moment they are spawned, so the caller can stop them at any time. */
  processes?: ProcessSet;
  /** Aborts start-up: startStack stops what it started and rejects with the abort reason. */
  signal?: AbortSignal;
}

/** Ports of the stack that are taken: one line each, naming the variable to change. */
export class PortsInUseError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'PortsInUseError';
  }
}

/** Fail before anything starts if a port is taken (a leftover stack would otherwise half-answer). */
export async function checkPorts(cfg: StackConfig): Promise<void> {
  const lines: string[] = [];
  for (const { name, port } of stackPorts(cfg)) {
    const problem = await portProblem(port);
    if (problem) lines.push(`${name} is ${port}, ${problem} — set ${name}=… to a free port`);
  }
  if (lines.length > 0) throw new PortsInUseError(lines);
}

export async function startStack(cfg: StackConfig, opts: StackOptions): Promise<Stack> {
  const timeout = opts.readyTimeoutMs ?? 120_000;
  const signal = opts.signal;
  const procs = opts.processes ?? new ProcessSet();
  await checkPorts(cfg);
  let s3: S3Handle | undefined;
  try {
    signal?.throwIfAborted();
    const s3Handle = (s3 = await startS3(cfg, opts.log));
    signal?.throwIfAborted();
    await ensurePublished(cfg, s3Handle, opts.log);
    signal?.throwIfAborted();

    const edgeUrl = `http://127.0.0.1:${cfg.MOTIF_EDGE_PORT}`;
    const edge = procs.add(cfg.MOTIF_EDGE === 'worker' ? spawnWorkerEdge(cfg, opts) : spawnNodeEdge(cfg, opts));
    await waitForHttp(`${edgeUrl}/healthz`, edge, timeout, signal);

    const originUrl = `http://127.0.0.1:${cfg.MOTIF_ORIGIN_PORT}`;
    const spawnOrigin = (replicaId: string, port: number, dir: string, env: NodeJS.ProcessEnv = {}) =>
      procs.add(
        spawnTsx({
          name: replicaId === `${STACK_NODE_ID}-0` ? 'origin' : replicaId,
          file: 'origin/src/main.ts',
          log: opts.log,
          exitWithParent: true,
          env: {
            // The origin syncs from S3: a MOTIF_ORIGIN_MODEL_DIR left in the shell would skip it.
            // Its /metrics access is the stack config's alone (the origin refuses both set).
            ...withoutKeys(process.env, ['MOTIF_ORIGIN_MODEL_DIR', 'MOTIF_ORIGIN_METRICS_TOKEN', 'MOTIF_ORIGIN_METRICS_PUBLIC']),
            ...s3Handle.clientEnv,
            MOTIF_ORIGIN_HOST: '127.0.0.1',
            MOTIF_ORIGIN_PORT: String(port),
            MOTIF_ORIGIN_PUBLIC_URL: `http://127.0.0.1:${port}`,
            MOTIF_REPLICA_ID: replicaId,
            MOTIF_NODE_ID: STACK_NODE_ID,
            MOTIF_ORIGIN_SECRET: cfg.originSecret,
            MOTIF_NODE_KEY: cfg.nodeKey,
            MOTIF_DEV: '1',
            MOTIF_EDGE_URL: edgeUrl,
            MOTIF_MODEL_ID: cfg.MOTIF_MODEL_ID,
            MOTIF_WEIGHTS_REF: cfg.MOTIF_WEIGHTS_REF,
            MOTIF_ORIGIN_DATA_DIR: dir,
            MOTIF_WEIGHTS_STORE: join(dir, 'weights'),
            ...(cfg.originMetricsToken ? { MOTIF_ORIGIN_METRICS_TOKEN: cfg.originMetricsToken } : { MOTIF_ORIGIN_METRICS_PUBLIC: '1' }),
            ...opts.originEnv,
            ...env,
          },
        }),
      );
    const originSpawn = () => spawnOrigin(`${STACK_NODE_ID}-0`, cfg.MOTIF_ORIGIN_PORT, join(cfg.dataDir, 'origin'));
    const stack: Stack = {
      edgeUrl,
      originUrl,
      originMetricsToken: cfg.originMetricsToken,
      apiKey: cfg.MOTIF_DEV_API_KEY,
      model: cfg.MOTIF_MODEL_ID,
      s3: s3Handle,
      edge,
      origin: originSpawn(),
      async restartOrigin() {
        await stack.origin.stop();
        stack.origin = originSpawn();
        await waitReady(stack, timeout);
      },
      async restartEdge() {
        await stack.edge.stop();
        stack.edge = procs.add(cfg.MOTIF_EDGE === 'worker' ? spawnWorkerEdge(cfg, opts) : spawnNodeEdge(cfg, opts));
        await waitForHttp(`${edgeUrl}/healthz`, stack.edge, timeout);
      },
      async addOrigin(replicaId, port, env) {
        const proc = spawnOrigin(replicaId, port, join(cfg.dataDir, replicaId), env);
        await waitForHttp(`http://127.0.0.1:${port}/readyz`, proc, timeout);
        return proc;
      },
      async stop() {
        await procs.stopAll();
        await s3Handle.stop();
      },
    };
    await waitReady(stack, timeout, signal);
    return stack;
  } catch (err) {
    await procs.stopAll().catch(() => {});
    await s3?.stop().catch(() => {});
    throw err;
  }
}

/** Ready = the origin answers /readyz and the edge lists the model (the heartbeat arrived). */
async function waitReady(stack: Stack, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await waitForHttp(`${stack.originUrl}/readyz`, stack.origin, timeoutMs, signal);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${stack.edgeUrl}/v1/models/${stack.model}`, { headers: { authorization: `Bearer ${stack.apiKey}` }, signal }).catch(() => null);
    if (res?.ok) return;
    await sleep(200, undefined, { signal });
  }
  throw new Error(`the edge did not list model ${stack.model} within ${timeoutMs} ms (no heartbeat from the origin?)`);
}

function withoutKeys(env: NodeJS.ProcessEnv, keys: string[]): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of keys) delete out[k];
  return out;
}

function edgeEnv(cfg: StackConfig): Record<string, string> {
  return {
    MOTIF_EDGE_HOST: '127.0.0.1',
    MOTIF_EDGE_PORT: String(cfg.MOTIF_EDGE_PORT),
    MOTIF_ORIGIN_SECRET: cfg.originSecret,
    MOTIF_NODE_KEYS: `${cfg.nodeKey}@${STACK_NODE_ID}`,
    MOTIF_DEV_API_KEY: cfg.MOTIF_DEV_API_KEY,
    // A development stack: its seeded API key is the published default.
    MOTIF_DEV: '1',
    MOTIF_KEY_PEPPER: cfg.keyPepper,
    MOTIF_ADMIN_TOKEN: cfg.adminToken,
    MOTIF_EDGE_DATA_DIR: join(cfg.dataDir, 'edge'),
  };
}

function spawnNodeEdge(cfg: StackConfig, opts: StackOptions): ManagedProcess {
  return spawnTsx({
    name: 'edge',
    file: 'edge/src/node.ts',
    log: opts.log,
    exitWithParent: true,
    env: { ...process.env, ...edgeEnv(cfg), ...opts.edgeEnv },
  });
}

/** The edge as a Worker in workerd (`wrangler dev`, offline, local-only storage under the data dir). */
function spawnWorkerEdge(cfg: StackConfig, opts: StackOptions): ManagedProcess {
  const vars = Object.entries(edgeEnv(cfg))
    .filter(([k]) => ['MOTIF_ORIGIN_SECRET', 'MOTIF_NODE_KEYS', 'MOTIF_DEV_API_KEY', 'MOTIF_KEY_PEPPER', 'MOTIF_ADMIN_TOKEN', 'MOTIF_DEV'].includes(k))
    .flatMap(([k, v]) => ['--var', `${k}:${v}`]);
  return spawnNode({
    name: 'edge',
    // Preloaded into wrangler's launcher, the parent watch takes its whole group (workerd too) down.
    exitWithParent: true,
    script: join(ROOT, 'node_modules/wrangler/bin/wrangler.js'),
    args: [
      'dev',
      '--config',
      join(ROOT, 'infra/cloudflare/wrangler.jsonc'),
      '--local',
      '--ip',
      '127.0.0.1',
      '--port',
      String(cfg.MOTIF_EDGE_PORT),
      '--persist-to',
      join(cfg.dataDir, 'wrangler'),
      '--inspector-port',
      '0',
      '--show-interactive-dev-session=false',
      ...vars,
    ],
    cwd: ROOT,
    // wrangler logs every request; the once-a-second heartbeats and usage posts would drown the rest.
    log: (line) => {
      if (!/POST \/internal\/(pool\/heartbeat|usage) 2\d\d/.test(line)) opts.log(line);
    },
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' },
  });
}
