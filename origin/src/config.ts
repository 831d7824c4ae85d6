/**
 * Origin configuration: environment → zod → one typed object, validated once at start. A bad
 * value raises `ConfigError` naming the variable and what was expected; `main.ts` prints it and
 * exits. Weights come from a local model dir (MOTIF_ORIGIN_MODEL_DIR) or from S3 (MOTIF_S3_* plus the
 * ref to follow and the local content store); with S3 the ref is polled and a new revision is
 * rolled out in place (MOTIF_WEIGHTS_POLL_MS, MOTIF_SWAP_*).
 */
import { z } from 'zod';
import { placeholderSecretProblems } from '#shared/placeholder-secrets.ts';
import { parseKeyring, type SigningKey } from '#shared/signing.ts';
import { WeightsQuant } from './engine/native/checkpoint/quantize-weights.ts';
import { KernelMode } from './engine/native/kernels/select-kernel.ts';
import { parseSimTuningJson, type SimTuning } from './engine/sim/options.ts';
import { EngineBackend } from './engine/types.ts';
import { SwapStrategyOption } from './rollout/strategy.ts';
import type { MetricsAccess } from './server/deps.ts';
import { type S3Config, s3ConfigFromEnv } from './weights/s3-settings.ts';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);
const positiveInt = z.coerce.number().int().positive();
const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, '1–128 characters of letters, digits, . _ : -');
const httpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });

export const OriginEnv = z.object({
  MOTIF_ORIGIN_PORT: port(4681),
  MOTIF_ORIGIN_HOST: z.string().min(1).default('127.0.0.1'),
  MOTIF_ORIGIN_PUBLIC_URL: httpUrl.optional(),
  MOTIF_REPLICA_ID: id.optional(),
  MOTIF_NODE_ID: id.optional(),
  MOTIF_ORIGIN_SECRET: z.string({ error: 'required: the keyring the edge signs forwarded requests with, "kid:secret[,kid:secret]"' }).min(1),
  /** This node's own key for heartbeats and usage (origin → edge), `kid:secret`; the edge binds it to MOTIF_NODE_ID. */
  MOTIF_NODE_KEY: z.string().optional(),
  MOTIF_EDGE_URL: httpUrl.optional(),
  MOTIF_MODEL_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'letters, digits, . _ -')
    .default('motif-2.6b'),
  MOTIF_ENGINE: EngineBackend.default('native'),
  /**
   * Tuning of the load-test simulator (MOTIF_ENGINE=sim), a JSON object such as
   * {"speed":10,"errorRate":0.1}; fields in origin/src/engine/sim/README.md.
   */
  MOTIF_SIM: z
    .string()
    .transform((text, ctx): SimTuning => {
      try {
        return parseSimTuningJson(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  /** The vLLM executable (MOTIF_ENGINE=vllm): a name looked up on PATH, or a path. */
  MOTIF_VLLM_BIN: z.string().min(1).default('vllm'),
  /** The launch recipe (JSON: env, flags, start-up timeout); default infra/engines/vllm/recipe.json of this checkout. */
  MOTIF_VLLM_RECIPE: z.string().min(1).optional(),
  /** The GPU (an MI250 GCD: 0 or 1) this replica's vLLM gets (as ROCR_VISIBLE_DEVICES; engine/vllm/recipe.ts); unset = inherit. */
  MOTIF_VLLM_GPU: z
    .string()
    .regex(/^[0-9]+(,[0-9]+)*$/, 'device indices such as 0 or 0,1')
    .optional(),
  /** Matmul kernels of the native engine: the C++ addon when it loads (auto), or forced js / native. */
  MOTIF_KERNELS: KernelMode.default('auto'),
  /** Native engine weights: the checkpoint's precision (none) or linear layers quantised to Q8_0 at load (q8). */
  MOTIF_WEIGHTS_QUANT: WeightsQuant.default('none'),
  /**
   * Serve this local model dir as is, skipping S3. Not MOTIF_MODEL_DIR: that is `npm start`'s
   * "publish this dir to S3, then serve it", and the stack's origin inherits its environment.
   */
  MOTIF_ORIGIN_MODEL_DIR: z.string().min(1).optional(),
  MOTIF_WEIGHTS_REF: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a ref name such as stable')
    .default('stable'),
  MOTIF_WEIGHTS_STORE: z.string().min(1).optional(),
  MOTIF_ORIGIN_DATA_DIR: z.string().min(1).default('.data/origin'),
  MOTIF_MAX_RUNNING: positiveInt.max(4096).default(8),
  MOTIF_MAX_QUEUE: z.coerce.number().int().min(0).max(100_000).default(64),
  MOTIF_KV_BUDGET_TOKENS: positiveInt.optional(),
  /** KV-cache memory (running sequences + prefix cache) when MOTIF_KV_BUDGET_TOKENS is unset. */
  MOTIF_KV_BUDGET_MB: positiveInt.max(1024 * 1024).default(4096),
  MOTIF_HEARTBEAT_MS: positiveInt.min(50).max(60_000).default(1_000),
  /** How long SIGTERM waits for running requests before closing. */
  MOTIF_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** How often to poll the weights ref for a new revision (S3 weights only); 0 = never. */
  MOTIF_WEIGHTS_POLL_MS: z.coerce
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 100 && n <= 86_400_000), '0 (off) or 100–86400000 ms')
    .default(30_000),
  /** How a new revision replaces the running engine: overlap, drain-first, or auto (by free memory). */
  MOTIF_SWAP_STRATEGY: SwapStrategyOption.default('auto'),
  /** How long a swapped-out engine may take to finish its running requests before they are cut. */
  MOTIF_SWAP_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(300_000),
  /** Remove revisions no replica uses after each swap (current and leased ones stay). */
  MOTIF_WEIGHTS_GC: z.enum(['true', 'false'], { error: 'true or false' }).default('true'),
  /** Bearer token a scraper sends for /metrics (without it, or MOTIF_ORIGIN_METRICS_PUBLIC=1, /metrics is closed). */
  MOTIF_ORIGIN_METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** 1 = /metrics open to anyone who reaches the port (a scrape inside a trusted network). */
  MOTIF_ORIGIN_METRICS_PUBLIC: z.enum(['0', '1'], { error: '1 (open /metrics to anyone) or 0' }).default('0'),
  /** 1 = development: the placeholder and built-in development secrets are allowed. */
  MOTIF_DEV: z.enum(['0', '1', 'true', 'false'], { error: '1 or 0' }).optional(),
});

export type WeightsSource = { kind: 'dir'; dir: string } | { kind: 's3'; s3: S3Config; ref: string; storeDir: string };

export interface OriginConfig {
  host: string;
  port: number;
  /** Where the edge reaches this replica; undefined = derived from host and the bound port. */
  publicUrl: string | undefined;
  replicaId: string;
  nodeId: string;
  /** Signs heartbeats and usage to the edge (MOTIF_NODE_KEY); set whenever edgeUrl is. */
  nodeKey: SigningKey | undefined;
  /** Verifies the edge's forwarded requests (MOTIF_ORIGIN_SECRET). */
  keyring: Map<string, string>;
  /** Heartbeat and usage target; undefined = standalone (no heartbeat, usage stays in the outbox). */
  edgeUrl: string | undefined;
  modelId: string;
  engine: EngineBackend;
  /** Native engine matmul kernels (MOTIF_KERNELS). */
  kernels: KernelMode;
  /** Native engine load-time weight quantisation (MOTIF_WEIGHTS_QUANT). */
  weightsQuant: WeightsQuant;
  /** Simulator tuning (MOTIF_SIM), used when engine is `sim`. */
  sim: SimTuning;
  /** The supervised vLLM server (MOTIF_ENGINE=vllm): executable, recipe file (undefined = the checkout's), GPU. */
  vllm: { bin: string; recipeFile: string | undefined; gpu: string | undefined };
  weights: WeightsSource;
  dataDir: string;
  limits: { maxRunning: number; maxQueue: number; kvBudgetTokens: number | undefined; kvBudgetBytes: number };
  heartbeatMs: number;
  drainTimeoutMs: number;
  /** Rolling weight updates (S3 weights only). */
  rollout: {
    /** Ref poll interval, ms; 0 = off. */
    pollMs: number;
    strategy: SwapStrategyOption;
    drainTimeoutMs: number;
    gcAfterSwap: boolean;
  };
  /** Who may read /metrics; undefined = nobody. */
  metricsAccess: MetricsAccess | undefined;
}

/**
 * Parse the origin's environment. `hostname` (the machine's name) is the default node id; the
 * replica id defaults to `<node>-<port>`. Throws ConfigError listing every bad variable.
 */
export function loadOriginConfig(env: Record<string, string | undefined>, defaults: { hostname: string }): OriginConfig {
  // Empty strings count as unset, as in most env-file tooling.
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = OriginEnv.safeParse(clean);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid origin configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const secrets = Object.fromEntries([...Object.keys(OriginEnv.shape), 'AWS_SECRET_ACCESS_KEY'].map((n) => [n, clean[n]]));
  const problems = placeholderSecretProblems(secrets, e.MOTIF_DEV === '1' || e.MOTIF_DEV === 'true');
  let keyring = new Map<string, string>();
  try {
    keyring = parseKeyring(e.MOTIF_ORIGIN_SECRET).ring;
  } catch (err) {
    problems.push(`  MOTIF_ORIGIN_SECRET: ${(err as Error).message}`);
  }
  const nodeId = e.MOTIF_NODE_ID ?? sanitizeId(defaults.hostname);
  const replicaId = e.MOTIF_REPLICA_ID ?? `${nodeId}-${e.MOTIF_ORIGIN_PORT}`;
  let nodeKey: SigningKey | undefined;
  if (e.MOTIF_EDGE_URL) {
    // The edge lets a node key speak only for `<node>` and `<node>-…` replicas (edge trust/node-keys.ts).
    if (replicaId !== nodeId && !replicaId.startsWith(`${nodeId}-`))
      problems.push(
        `  MOTIF_REPLICA_ID: ${replicaId} must be ${nodeId} or start with "${nodeId}-" (MOTIF_NODE_ID) for the edge to accept this node's key for it`,
      );
    if (!e.MOTIF_NODE_KEY)
      problems.push('  MOTIF_NODE_KEY: required with MOTIF_EDGE_URL: this node\'s "kid:secret", listed on the edge in MOTIF_NODE_KEYS as kid:secret@<node id>');
    else
      try {
        const parsedKey = parseKeyring(e.MOTIF_NODE_KEY);
        if (parsedKey.ring.size !== 1) throw new Error('one key, "kid:secret" (rotate by switching to the next key listed on the edge)');
        nodeKey = parsedKey.signing;
        if (keyring.get(nodeKey.kid) === nodeKey.secret) throw new Error('must differ from MOTIF_ORIGIN_SECRET: each direction has its own key');
      } catch (err) {
        problems.push(`  MOTIF_NODE_KEY: ${(err as Error).message}`);
        nodeKey = undefined;
      }
  }
  if (problems.length > 0) throw new ConfigError(`invalid origin configuration:\n${problems.join('\n')}`);
  let weights: WeightsSource;
  if (e.MOTIF_ORIGIN_MODEL_DIR) weights = { kind: 'dir', dir: e.MOTIF_ORIGIN_MODEL_DIR };
  else {
    try {
      weights = {
        kind: 's3',
        s3: s3ConfigFromEnv(clean, { bucket: clean.MOTIF_S3_BUCKET ?? 'motif-weights' }),
        ref: e.MOTIF_WEIGHTS_REF,
        storeDir: e.MOTIF_WEIGHTS_STORE ?? `${e.MOTIF_ORIGIN_DATA_DIR}/weights`,
      };
    } catch (err) {
      throw new ConfigError(`invalid origin configuration (set MOTIF_ORIGIN_MODEL_DIR to serve a local dir instead):\n  ${(err as Error).message}`);
    }
  }
  if (e.MOTIF_ORIGIN_METRICS_PUBLIC === '1' && e.MOTIF_ORIGIN_METRICS_TOKEN) {
    throw new ConfigError(
      'invalid origin configuration:\n  MOTIF_ORIGIN_METRICS_PUBLIC: is 1 while MOTIF_ORIGIN_METRICS_TOKEN is set; set one of them (open, or token-protected)',
    );
  }
  return {
    host: e.MOTIF_ORIGIN_HOST,
    port: e.MOTIF_ORIGIN_PORT,
    publicUrl: e.MOTIF_ORIGIN_PUBLIC_URL,
    replicaId,
    nodeId,
    nodeKey,
    keyring,
    edgeUrl: e.MOTIF_EDGE_URL,
    modelId: e.MOTIF_MODEL_ID,
    engine: e.MOTIF_ENGINE,
    kernels: e.MOTIF_KERNELS,
    weightsQuant: e.MOTIF_WEIGHTS_QUANT,
    sim: e.MOTIF_SIM ?? {},
    vllm: { bin: e.MOTIF_VLLM_BIN, recipeFile: e.MOTIF_VLLM_RECIPE, gpu: e.MOTIF_VLLM_GPU },
    weights,
    dataDir: e.MOTIF_ORIGIN_DATA_DIR,
    limits: {
      maxRunning: e.MOTIF_MAX_RUNNING,
      maxQueue: e.MOTIF_MAX_QUEUE,
      kvBudgetTokens: e.MOTIF_KV_BUDGET_TOKENS,
      kvBudgetBytes: e.MOTIF_KV_BUDGET_MB * 1024 * 1024,
    },
    heartbeatMs: e.MOTIF_HEARTBEAT_MS,
    drainTimeoutMs: e.MOTIF_DRAIN_TIMEOUT_MS,
    rollout: {
      pollMs: e.MOTIF_WEIGHTS_POLL_MS,
      strategy: e.MOTIF_SWAP_STRATEGY,
      drainTimeoutMs: e.MOTIF_SWAP_DRAIN_TIMEOUT_MS,
      gcAfterSwap: e.MOTIF_WEIGHTS_GC === 'true',
    },
    metricsAccess: e.MOTIF_ORIGIN_METRICS_PUBLIC === '1' ? 'public' : e.MOTIF_ORIGIN_METRICS_TOKEN ? { token: e.MOTIF_ORIGIN_METRICS_TOKEN } : undefined,
  };
}

function sanitizeId(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 100);
  return s || 'node';
}
