/**
 * Edge configuration from the environment (Node: process.env; Worker: vars and secrets), parsed
 * once by zod. Errors name the variable and what was expected, so a bad value stops the edge at
 * start with a useful message instead of failing on the first request.
 */
import { z } from 'zod';
import { parseKeyring, type SigningKey } from '#shared/signing.ts';
import { isPlausibleKey } from './middleware/auth/api-keys.ts';

/** A development-only keyring: used when MOTIF_ORIGIN_SECRET is unset and MOTIF_DEV=1. */
export const DEV_ORIGIN_SECRET = 'dev:motif-dev-origin-secret-do-not-use-in-production';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const flag = z
  .enum(['0', '1', 'true', 'false'])
  .optional()
  .transform((v) => v === '1' || v === 'true');

export const EdgeEnv = z.object({
  MOTIF_EDGE_PORT: int(0, 65535).default(4680),
  MOTIF_EDGE_HOST: z.string().min(1).default('127.0.0.1'),
  MOTIF_ORIGIN_SECRET: z.string().optional(),
  MOTIF_DEV: flag,
  MOTIF_DEV_API_KEY: z.string().min(20, 'must be at least 20 characters').refine(isPlausibleKey, 'must be printable ASCII without spaces').optional(),
  MOTIF_EDGE_DATA_DIR: z.string().min(1).default('.data/edge'),
  MOTIF_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  MOTIF_EDGE_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).optional(),
  MOTIF_EDGE_REQUEST_TIMEOUT_MS: int(1000, 3_600_000).optional(),
  /** Requests per minute per tenant; 0 = unlimited. */
  MOTIF_EDGE_RPM: int(0, 1e9).optional(),
  /** Tokens per minute per tenant; 0 = unlimited. */
  MOTIF_EDGE_TPM: int(0, 1e12).optional(),
});
export type EdgeEnv = z.infer<typeof EdgeEnv>;

export interface EdgeConfig {
  port: number;
  host: string;
  dataDir: string;
  keyring: { signing: SigningKey; ring: Map<string, string> };
  /** Seeded for tenant `dev` at start when set. */
  devApiKey?: string;
  adminToken?: string;
  maxBodyBytes?: number;
  requestTimeoutMs?: number;
  limits: { requestsPerMinute?: number; tokensPerMinute?: number };
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
  let secret = e.MOTIF_ORIGIN_SECRET;
  if (secret === undefined) {
    if (!e.MOTIF_DEV)
      throw new ConfigError(
        'invalid edge configuration:\n  MOTIF_ORIGIN_SECRET: required (kid:secret[,kid:secret]); set MOTIF_DEV=1 to use a development default',
      );
    secret = DEV_ORIGIN_SECRET;
  }
  let keyring: EdgeConfig['keyring'];
  try {
    keyring = parseKeyring(secret);
  } catch (err) {
    throw new ConfigError(`invalid edge configuration:\n  MOTIF_ORIGIN_SECRET: ${(err as Error).message}`);
  }
  return {
    port: e.MOTIF_EDGE_PORT,
    host: e.MOTIF_EDGE_HOST,
    dataDir: e.MOTIF_EDGE_DATA_DIR,
    keyring,
    devApiKey: e.MOTIF_DEV_API_KEY,
    adminToken: e.MOTIF_ADMIN_TOKEN,
    maxBodyBytes: e.MOTIF_EDGE_MAX_BODY_BYTES,
    requestTimeoutMs: e.MOTIF_EDGE_REQUEST_TIMEOUT_MS,
    limits: { requestsPerMinute: e.MOTIF_EDGE_RPM, tokensPerMinute: e.MOTIF_EDGE_TPM },
  };
}
