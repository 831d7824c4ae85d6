/**
 * The appliance in a box: embedded S3 → generated (or given) model published through the real
 * publish path → one origin that syncs the weights from S3 → the edge (Node, or a Worker in
 * workerd). Used by `npm start` and by the end-to-end tests, so both run the same wiring.
 */
import { join } from 'node:path';
import type { StackConfig } from './config.ts';
import { REPO_ROOT as ROOT, spawnManaged, spawnTsx, waitForHttp, type ManagedProcess } from './processes.ts';
import { ensurePublished, startS3, type S3Handle } from './weights.ts';

export interface Stack {
  edgeUrl: string;
  originUrl: string;
  apiKey: string;
  model: string;
  s3: S3Handle;
  edge: ManagedProcess;
  origin: ManagedProcess;
  /** Start the origin again after it stopped or was killed (same config). */
  restartOrigin(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  log: (line: string) => void;
  /** Extra env for the origin process (tests tune engine limits this way). */
  originEnv?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

export async function startStack(cfg: StackConfig, opts: StackOptions): Promise<Stack> {
  const timeout = opts.readyTimeoutMs ?? 120_000;
  const started: { stop(): Promise<void> }[] = [];
  try {
    const s3 = await startS3(cfg, opts.log);
    started.push(s3);
    await ensurePublished(cfg, s3, opts.log);

    const edgeUrl = `http://127.0.0.1:${cfg.MOTIF_EDGE_PORT}`;
    const edge = cfg.MOTIF_EDGE === 'worker' ? spawnWorkerEdge(cfg, opts) : spawnNodeEdge(cfg, opts);
    started.push(edge);
    await waitForHttp(`${edgeUrl}/healthz`, edge, timeout);

    const originUrl = `http://127.0.0.1:${cfg.MOTIF_ORIGIN_PORT}`;
    const originSpawn = () => spawnTsx({
      name: 'origin',
      file: 'origin/src/main.ts',
      log: opts.log,
      env: {
        // The origin syncs from S3: a MOTIF_ORIGIN_MODEL_DIR left in the shell would skip it.
        ...withoutKeys(process.env, ['MOTIF_ORIGIN_MODEL_DIR']),
        ...s3.clientEnv,
        MOTIF_ORIGIN_HOST: '127.0.0.1',
        MOTIF_ORIGIN_PORT: String(cfg.MOTIF_ORIGIN_PORT),
        MOTIF_ORIGIN_PUBLIC_URL: originUrl,
        MOTIF_REPLICA_ID: 'local-0',
        MOTIF_NODE_ID: 'local',
        MOTIF_ORIGIN_SECRET: cfg.originSecret,
        MOTIF_EDGE_URL: edgeUrl,
        MOTIF_MODEL_ID: cfg.MOTIF_MODEL_ID,
        MOTIF_WEIGHTS_REF: cfg.MOTIF_WEIGHTS_REF,
        MOTIF_ORIGIN_DATA_DIR: join(cfg.dataDir, 'origin'),
        MOTIF_WEIGHTS_STORE: join(cfg.dataDir, 'origin', 'weights'),
        ...opts.originEnv,
      },
    });
    const stack: Stack = {
      edgeUrl,
      originUrl,
      apiKey: cfg.MOTIF_DEV_API_KEY,
      model: cfg.MOTIF_MODEL_ID,
      s3,
      edge,
      origin: originSpawn(),
      async restartOrigin() {
        await stack.origin.stop();
        stack.origin = originSpawn();
        await waitReady(stack, timeout);
      },
      async stop() {
        await Promise.all([stack.origin.stop(), stack.edge.stop()]);
        await s3.stop();
      },
    };
    started.push({ stop: () => stack.origin.stop() });
    await waitReady(stack, timeout);
    return stack;
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    throw err;
  }
}

/** Ready = the origin answers /readyz and the edge lists the model (the heartbeat arrived). */
async function waitReady(stack: Stack, timeoutMs: number): Promise<void> {
  await waitForHttp(`${stack.originUrl}/readyz`, stack.origin, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${stack.edgeUrl}/v1/models/${stack.model}`, { headers: { authorization: `Bearer ${stack.apiKey}` } }).catch(() => null);
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 200));
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
    MOTIF_DEV_API_KEY: cfg.MOTIF_DEV_API_KEY,
    MOTIF_EDGE_DATA_DIR: join(cfg.dataDir, 'edge'),
  };
}

function spawnNodeEdge(cfg: StackConfig, opts: StackOptions): ManagedProcess {
  return spawnTsx({
    name: 'edge',
    file: 'edge/src/node.ts',
    log: opts.log,
    env: { ...process.env, ...edgeEnv(cfg) },
  });
}

/** The edge as a Worker in workerd (`wrangler dev`, offline, local-only storage under the data dir). */
function spawnWorkerEdge(cfg: StackConfig, opts: StackOptions): ManagedProcess {
  const vars = Object.entries(edgeEnv(cfg))
    .filter(([k]) => k === 'MOTIF_ORIGIN_SECRET' || k === 'MOTIF_DEV_API_KEY')
    .flatMap(([k, v]) => ['--var', `${k}:${v}`]);
  return spawnManaged({
    name: 'edge',
    command: process.execPath,
    args: [
      join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'dev',
      '--config', join(ROOT, 'infra/wrangler.jsonc'),
      '--local', '--ip', '127.0.0.1', '--port', String(cfg.MOTIF_EDGE_PORT),
      '--persist-to', join(cfg.dataDir, 'wrangler'),
      '--inspector-port', '0',
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
