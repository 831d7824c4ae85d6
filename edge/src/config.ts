/**
 * Edge configuration from the environment (Node: process.env; Worker: vars and secrets), parsed
 * once by zod. Errors name the variable and what was expected, so a bad value stops the edge at
 * start with a useful message instead of failing on the first request.
 */
import { z } from 'zod';
import { DEV_NODE_KEYS, DEV_ORIGIN_SECRET, placeholderSecretProblems } from '#shared/placeholder-secrets.ts';
import { parseKeyring, type SigningKey } from '#shared/signing.ts';
import { type JwtConfig, JwtEnv, jwtConfigFrom } from './config-jwt.ts';
import { isPlausibleKey } from './keys/key-format.ts';
import { MIN_PEPPER_LENGTH } from './keys/key-hash.ts';
import { type CorsOrigins, parseCorsOrigins } from './middleware/cors/cors.ts';
import { parseProfile, type SchedulerProfile } from './routing/registry.ts';
import { type NodeKeys, parseNodeKeys } from './trust/node-keys.ts';
import { DEFAULT_ORIGIN_ALLOW, type OriginAllowList, parseOriginAllowList } from './trust/origin-allow-list.ts';

/** Development defaults, used when the variable is unset and MOTIF_DEV=1 (one list: shared/src/placeholder-secrets.ts). */
export { DEV_NODE_KEYS, DEV_ORIGIN_SECRET };

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const flag = z
  .enum(['0', '1', 'true', 'false'])
  .optional()
  .transform((v) => v === '1' || v === 'true');

/** Development-only key pepper: used when MOTIF_KEY_PEPPER is unset and MOTIF_DEV=1. */
export const DEV_KEY_PEPPER = 'motif-dev-key-pepper-do-not-use-in-production';

export const EdgeEnv = JwtEnv.extend({
  MOTIF_EDGE_PORT: int(0, 65535).default(4680),
  MOTIF_EDGE_HOST: z.string().min(1).default('127.0.0.1'),
  MOTIF_ORIGIN_SECRET: z.string().optional(),
  /** Origin → edge keys, each bound to a node: `kid:secret@node[,…]` (trust/node-keys.ts). */
  MOTIF_NODE_KEYS: z.string().optional(),
  /** Where replicas may be: CIDRs, IPs, host names, *.suffix (trust/origin-allow-list.ts). */
  MOTIF_ORIGIN_ALLOW: z.string().optional(),
  MOTIF_DEV: flag,
  MOTIF_DEV_API_KEY: z.string().min(20, 'must be at least 20 characters').refine(isPlausibleKey, 'must be printable ASCII without spaces').optional(),
  MOTIF_EDGE_DATA_DIR: z.string().min(1).default('.data/edge'),
  MOTIF_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** HMAC key under which API keys are hashed (a secret; rotating it invalidates every key). */
  MOTIF_KEY_PEPPER: z.string().min(MIN_PEPPER_LENGTH, `must be at least ${MIN_PEPPER_LENGTH} characters`).optional(),
  MOTIF_EDGE_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).optional(),
  MOTIF_EDGE_REQUEST_TIMEOUT_MS: int(1000, 3_600_000).optional(),
  /** Requests per minute per tenant; 0 = unlimited. */
  MOTIF_EDGE_RPM: int(0, 1e9).optional(),
  /** Tokens per minute per tenant; 0 = unlimited. */
  MOTIF_EDGE_TPM: int(0, 1e12).optional(),
  /** Concurrent requests per tenant; 0 = unlimited. */
  MOTIF_EDGE_MAX_CONCURRENT: int(0, 1e6).optional(),
  /** Tokens per tenant per UTC calendar month; 0 = unlimited. */
  MOTIF_EDGE_MONTHLY_TOKENS: int(0, 1e15).optional(),
  /** Largest token reservation of one request: the longest context a served model has. */
  MOTIF_EDGE_MAX_CONTEXT_TOKENS: int(1, 1e8).optional(),
  /** Admit without limits when the limiter store is unavailable (default: refuse with 503). */
  MOTIF_LIMITS_FAIL_OPEN: flag,
  /**
   * Node: `solo` (default) when this is the host's only edge process, limits decided in memory;
   * `shared` on every edge process when a host runs several (adapters/node/host-limiter.ts).
   */
  MOTIF_EDGE_LIMITS_SCOPE: z.enum(['solo', 'shared']).default('solo'),
  /** Browser origins allowed by CORS: `*` or a comma list; unset = no CORS headers. */
  MOTIF_CORS_ORIGINS: z.string().optional(),
  /** How replicas are chosen: `default`, `least-loaded`, `round-robin`, or a JSON profile (routing/README.md). */
  MOTIF_ROUTING_PROFILE: z.string().optional(),
  /** The response cache for deterministic requests (edge/README.md, "Response cache"); on unless `0`. */
  MOTIF_CACHE: z
    .enum(['0', '1', 'true', 'false'])
    .optional()
    .transform((v) => v === undefined || v === '1' || v === 'true'),
  /** How long a cached answer is served, seconds. */
  MOTIF_CACHE_TTL_S: int(1, 30 * 86_400).default(300),
  /** Node: bytes of answers the in-memory cache holds (LRU). Workers: the Cache API bounds itself. */
  MOTIF_CACHE_MAX_BYTES: int(1024, 64 * 1024 ** 3).default(64 * 1024 * 1024),
  /** Node: answers the in-memory cache holds (LRU). */
  MOTIF_CACHE_MAX_ENTRIES: int(1, 10_000_000).default(10_000),
  /** Larger answers are not cached. */
  MOTIF_CACHE_MAX_ENTRY_BYTES: int(1024, 64 * 1024 * 1024).default(256 * 1024),
  /** Whether a hit's tokens count against tokens/min and the monthly quota (its request always counts). */
  MOTIF_CACHE_HIT_TOKENS: flag,
});
export type EdgeEnv = z.infer<typeof EdgeEnv>;

export interface EdgeConfig {
  port: number;
  host: string;
  dataDir: string;
  /** Signs forwarded requests (edge → origin): the first entry of MOTIF_ORIGIN_SECRET. */
  signingKey: SigningKey;
  nodeKeys: NodeKeys;
  originAllow: OriginAllowList;
  /** Seeded for tenant `dev` at start when set. */
  devApiKey?: string;
  adminToken?: string;
  /** HMAC-SHA256 key of stored API key hashes. */
  keyPepper: string;
  /** Enterprise JWT auth; undefined = off. */
  jwt?: JwtConfig;
  maxBodyBytes?: number;
  requestTimeoutMs?: number;
  limits: { requestsPerMinute?: number; tokensPerMinute?: number; maxConcurrent?: number; monthlyTokens?: number; maxContextTokens?: number };
  limitsFailOpen: boolean;
  limitsScope: 'solo' | 'shared';
  corsOrigins?: CorsOrigins;
  /** The scheduler profile; undefined = the default (routing/registry.ts). */
  routingProfile?: SchedulerProfile;
  /** The response cache: `enabled` picks a store at the root; the rest are the app's cache options. */
  cache: { enabled: boolean; ttlMs: number; maxBytes: number; maxEntries: number; maxEntryBytes: number; hitTokensCount: boolean };
}

/** Thrown for invalid configuration; the message lists each bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parse the environment into an EdgeConfig, or throw a ConfigError naming the variables. */
export function loadEdgeConfig(env: Record<string, string | undefined>): EdgeConfig {
  // An empty variable (`MOTIF_ADMIN_TOKEN=` in an env file) means unset.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('MOTIF_') && v !== undefined && v !== ''));
  const parsed = EdgeEnv.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(`invalid edge configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const e = parsed.data;
  const problems: string[] = placeholderSecretProblems(pick(cleaned, Object.keys(EdgeEnv.shape)), e.MOTIF_DEV);
  const devDefault = (name: string, value: string | undefined, dev: string): string | undefined => {
    if (value !== undefined) return value;
    if (e.MOTIF_DEV) return dev;
    problems.push(`  ${name}: required; set MOTIF_DEV=1 to use a development default`);
    return undefined;
  };
  const parse = <T>(name: string, value: string | undefined, fn: (v: string) => T): T | undefined => {
    if (value === undefined) return undefined;
    try {
      return fn(value);
    } catch (err) {
      problems.push(`  ${name}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const signingKey = parse('MOTIF_ORIGIN_SECRET', devDefault('MOTIF_ORIGIN_SECRET', e.MOTIF_ORIGIN_SECRET, DEV_ORIGIN_SECRET), (v) => parseKeyring(v).signing);
  const nodeKeys = parse('MOTIF_NODE_KEYS', devDefault('MOTIF_NODE_KEYS', e.MOTIF_NODE_KEYS, DEV_NODE_KEYS), parseNodeKeys);
  const originAllow = parse('MOTIF_ORIGIN_ALLOW', e.MOTIF_ORIGIN_ALLOW ?? DEFAULT_ORIGIN_ALLOW, parseOriginAllowList);
  const corsOrigins = parse('MOTIF_CORS_ORIGINS', e.MOTIF_CORS_ORIGINS, parseCorsOrigins);
  const routingProfile = parse('MOTIF_ROUTING_PROFILE', e.MOTIF_ROUTING_PROFILE, parseProfile);
  const keyPepper = devDefault('MOTIF_KEY_PEPPER', e.MOTIF_KEY_PEPPER, DEV_KEY_PEPPER);
  const jwt = jwtConfigFrom(e, problems);
  if (problems.length > 0 || !keyPepper || !signingKey || !nodeKeys || !originAllow)
    throw new ConfigError(`invalid edge configuration:\n${problems.join('\n')}`);
  return {
    port: e.MOTIF_EDGE_PORT,
    host: e.MOTIF_EDGE_HOST,
    dataDir: e.MOTIF_EDGE_DATA_DIR,
    signingKey,
    nodeKeys,
    originAllow,
    devApiKey: e.MOTIF_DEV_API_KEY,
    adminToken: e.MOTIF_ADMIN_TOKEN,
    keyPepper,
    jwt,
    maxBodyBytes: e.MOTIF_EDGE_MAX_BODY_BYTES,
    requestTimeoutMs: e.MOTIF_EDGE_REQUEST_TIMEOUT_MS,
    limits: {
      requestsPerMinute: e.MOTIF_EDGE_RPM,
      tokensPerMinute: e.MOTIF_EDGE_TPM,
      maxConcurrent: e.MOTIF_EDGE_MAX_CONCURRENT,
      monthlyTokens: e.MOTIF_EDGE_MONTHLY_TOKENS,
      maxContextTokens: e.MOTIF_EDGE_MAX_CONTEXT_TOKENS,
    },
    limitsFailOpen: e.MOTIF_LIMITS_FAIL_OPEN,
    limitsScope: e.MOTIF_EDGE_LIMITS_SCOPE,
    corsOrigins,
    routingProfile,
    cache: {
      enabled: e.MOTIF_CACHE,
      ttlMs: e.MOTIF_CACHE_TTL_S * 1000,
      maxBytes: e.MOTIF_CACHE_MAX_BYTES,
      maxEntries: e.MOTIF_CACHE_MAX_ENTRIES,
      maxEntryBytes: e.MOTIF_CACHE_MAX_ENTRY_BYTES,
      hitTokensCount: e.MOTIF_CACHE_HIT_TOKENS,
    },
  };
}

function pick(env: Record<string, string | undefined>, names: string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((n) => [n, env[n]]));
}

/** The app options a composition root passes to createEdgeApp, from the config. */
export function edgeAppOptions(config: EdgeConfig) {
  return {
    maxBodyBytes: config.maxBodyBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    adminToken: config.adminToken,
    limits: config.limits,
    limitsFailOpen: config.limitsFailOpen,
    corsOrigins: config.corsOrigins,
    cache: { ttlMs: config.cache.ttlMs, maxEntryBytes: config.cache.maxEntryBytes, hitTokensCount: config.cache.hitTokensCount },
  };
}
