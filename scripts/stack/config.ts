/**
 * Configuration of the local stack (`npm start`): env → zod, validated once. Every port and the
 * dev key can be overridden; defaults avoid commonly taken ports (8787, 8080, 3000, 9000).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEV_API_KEY } from '#shared/placeholder-secrets.ts';

// No 0 ("any free port"): the stack wires each process to the others by these numbers.
const port = (def: number) => z.coerce.number().int().min(1).max(65535).default(def);

/** The model `npm start` generates (random weights) when no other is configured. */
export const TINY_MODEL_ID = 'motif-tiny';

export const StackEnv = z.object({
  MOTIF_EDGE_PORT: port(4680),
  MOTIF_ORIGIN_PORT: port(4681),
  MOTIF_S3_PORT: port(4690),
  MOTIF_DATA_DIR: z.string().default('.data'),
  MOTIF_DEV_API_KEY: z.string().min(20, 'must be at least 20 characters').default(DEV_API_KEY),
  MOTIF_ORIGIN_SECRET: z.string().optional(),
  /** The edge's key pepper; unset = a random one kept under the data dir. */
  MOTIF_KEY_PEPPER: z.string().min(32, 'must be at least 32 characters').optional(),
  /** The edge's admin token (`npm run admin`); unset = a random one kept under the data dir. */
  MOTIF_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  MOTIF_MODEL_ID: z
    .string()
    .regex(/^[a-zA-Z0-9._-]+$/, 'letters, digits, . _ -')
    .default(TINY_MODEL_ID),
  /** Serve this local HF-style model dir (published to S3 first) instead of the generated tiny model. */
  MOTIF_MODEL_DIR: z.string().optional(),
  MOTIF_WEIGHTS_REF: z.string().default('stable'),
  /** An external S3 endpoint; unset = the embedded s3rver. */
  MOTIF_S3_ENDPOINT: z.url().optional(),
  MOTIF_S3_BUCKET: z.string().default('motif-weights'),
  MOTIF_EDGE: z.enum(['node', 'worker']).default('node'),
  /** The token the stack's origin wants for /metrics; unset = a random one per run. */
  MOTIF_ORIGIN_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** 1 = the stack's origin serves /metrics to anyone (no token). */
  MOTIF_ORIGIN_METRICS_PUBLIC: z.enum(['0', '1']).default('0'),
});
export type StackEnv = z.infer<typeof StackEnv>;

export interface StackConfig extends StackEnv {
  dataDir: string;
  /** Edge → origin keyring. */
  originSecret: string;
  /** The stack origin's own key (origin → edge), `kid:secret`, bound to node STACK_NODE_ID on the edge. */
  nodeKey: string;
  /** HMAC key of the edge's stored API key hashes. */
  keyPepper: string;
  /** Bearer token of the edge's admin API. */
  adminToken: string;
  /** Bearer token for the origin's /metrics; undefined when MOTIF_ORIGIN_METRICS_PUBLIC=1. */
  originMetricsToken: string | undefined;
}

/** The stack's origin: node `local`, replica `local-0` (the edge binds the node key to this node). */
export const STACK_NODE_ID = 'local';

/** Parse env (plus CLI overrides); exit-worthy errors name the variable. */
export function loadStackConfig(env: NodeJS.ProcessEnv, overrides: Partial<StackEnv> = {}): StackConfig {
  const parsed = StackEnv.safeParse({ ...env, ...overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const ports = stackPorts(parsed.data);
  for (const [i, p] of ports.entries()) {
    const same = ports.slice(0, i).find((q) => q.port === p.port);
    if (same) throw new Error(`${p.name} is ${p.port}, the same as ${same.name} — set ${p.name}=… to another port`);
  }
  const dataDir = resolve(parsed.data.MOTIF_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const originMetricsToken =
    parsed.data.MOTIF_ORIGIN_METRICS_PUBLIC === '1' ? undefined : (parsed.data.MOTIF_ORIGIN_METRICS_TOKEN ?? `metrics-${randomBytes(16).toString('hex')}`);
  return {
    ...parsed.data,
    dataDir,
    originSecret: parsed.data.MOTIF_ORIGIN_SECRET ?? devSecret(dataDir, 'dev-origin-secret', 'dev'),
    nodeKey: devSecret(dataDir, 'dev-node-key', STACK_NODE_ID),
    keyPepper: parsed.data.MOTIF_KEY_PEPPER ?? devSecret(dataDir, 'dev-key-pepper'),
    adminToken: parsed.data.MOTIF_ADMIN_TOKEN ?? devSecret(dataDir, 'dev-admin-token', 'admin', '-'),
    originMetricsToken,
  };
}

/** Every port the stack listens on, with the variable that sets it (the embedded S3's only when it runs). */
export function stackPorts(cfg: StackEnv): { name: string; port: number }[] {
  return [
    { name: 'MOTIF_EDGE_PORT', port: cfg.MOTIF_EDGE_PORT },
    { name: 'MOTIF_ORIGIN_PORT', port: cfg.MOTIF_ORIGIN_PORT },
    ...(cfg.MOTIF_S3_ENDPOINT ? [] : [{ name: 'MOTIF_S3_PORT', port: cfg.MOTIF_S3_PORT }]),
  ];
}

/** A per-checkout random secret (`kid:secret` for a signing key), kept under the data dir so restarts agree. */
export function devSecret(dataDir: string, name: string, kid?: string, sep = ':'): string {
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const random = randomBytes(24).toString('hex');
  const secret = kid === undefined ? random : `${kid}${sep}${random}`;
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
