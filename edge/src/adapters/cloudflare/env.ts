/**
 * The Worker's bindings (infra/cloudflare/wrangler.jsonc): five Durable Object namespaces and the vars and
 * secrets the config reads. Written by hand rather than by `wrangler types`, whose output
 * declares global types that would clash with the DOM lib the rest of the repo compiles with;
 * the workers tests check that these names match the wrangler config.
 */
import type { DurableObjectNamespace } from '@cloudflare/workers-types';
import type { KeysDO } from './keys-do.ts';
import type { LedgerDO } from './ledger-do.ts';
import type { LimiterDO } from './limiter-do.ts';
import type { PoolDO } from './pool-do.ts';
import type { ReplayDO } from './replay-do.ts';

export interface Env {
  KEYS: DurableObjectNamespace<KeysDO>;
  LEDGER: DurableObjectNamespace<LedgerDO>;
  POOL: DurableObjectNamespace<PoolDO>;
  LIMITER: DurableObjectNamespace<LimiterDO>;
  REPLAY: DurableObjectNamespace<ReplayDO>;
  MOTIF_ORIGIN_SECRET?: string;
  MOTIF_NODE_KEYS?: string;
  MOTIF_ORIGIN_ALLOW?: string;
  MOTIF_DEV?: string;
  MOTIF_DEV_API_KEY?: string;
  MOTIF_ADMIN_TOKEN?: string;
  /** A secret: the HMAC key of stored API key hashes (required outside MOTIF_DEV=1). */
  MOTIF_KEY_PEPPER?: string;
  MOTIF_JWT_ISSUER?: string;
  MOTIF_JWT_AUDIENCE?: string;
  MOTIF_JWT_ALGORITHMS?: string;
  MOTIF_JWT_JWKS_URL?: string;
  /** The JWKS as inline JSON (a Worker has no files to read). */
  MOTIF_JWT_JWKS?: string;
  MOTIF_JWT_CLOCK_SKEW_S?: string;
  MOTIF_JWT_TENANT_CLAIM?: string;
  MOTIF_JWT_SCOPES_CLAIM?: string;
  MOTIF_EDGE_MAX_BODY_BYTES?: string;
  MOTIF_EDGE_REQUEST_TIMEOUT_MS?: string;
  MOTIF_EDGE_RPM?: string;
  MOTIF_EDGE_TPM?: string;
  MOTIF_EDGE_MAX_CONCURRENT?: string;
  MOTIF_EDGE_MONTHLY_TOKENS?: string;
  MOTIF_EDGE_MAX_CONTEXT_TOKENS?: string;
  MOTIF_LIMITS_FAIL_OPEN?: string;
  MOTIF_CORS_ORIGINS?: string;
  MOTIF_CACHE?: string;
  MOTIF_CACHE_TTL_S?: string;
  MOTIF_CACHE_MAX_ENTRY_BYTES?: string;
  MOTIF_CACHE_HIT_TOKENS?: string;
}

/** The binding names, for checks against the wrangler config. */
export const DO_BINDINGS = { KEYS: 'KeysDO', LEDGER: 'LedgerDO', POOL: 'PoolDO', LIMITER: 'LimiterDO', REPLAY: 'ReplayDO' } as const;
