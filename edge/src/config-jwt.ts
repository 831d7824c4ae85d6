/**
 * The JWT part of the edge configuration (MOTIF_JWT_*): parsed with the rest of the environment
 * by config.ts, kept apart because it is a block of its own. JWT auth is on when a JWKS source
 * is set; then the issuer and audience allow-lists are required.
 */
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { JWT_ALGORITHMS, type JwtOptions } from './middleware/auth/jwt.ts';

const list = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .optional();

export const JwtEnv = z.object({
  MOTIF_JWT_ISSUER: list,
  MOTIF_JWT_AUDIENCE: list,
  MOTIF_JWT_ALGORITHMS: list.pipe(z.array(z.enum(JWT_ALGORITHMS)).min(1).optional()),
  MOTIF_JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The JWKS as inline JSON (Workers: a var or secret). */
  MOTIF_JWT_JWKS: z.string().optional(),
  /** A JWKS file (Node only; air-gapped sites): node.ts reads it. */
  MOTIF_JWT_JWKS_FILE: z.string().optional(),
  MOTIF_JWT_CLOCK_SKEW_S: z.coerce.number().int().min(0).max(3600).default(60),
  MOTIF_JWT_TENANT_CLAIM: z.string().min(1).default('tenant'),
  MOTIF_JWT_SCOPES_CLAIM: z.string().min(1).default('scope'),
});
export type JwtEnv = z.infer<typeof JwtEnv>;

/** JWT options where the JWKS may still be a file to read (the Node root reads it). */
export type JwtConfig = Omit<JwtOptions, 'jwks'> & { jwks: JwtOptions['jwks'] | { file: string } };

/** The JWT config of a parsed environment, or undefined when JWT auth is off; problems are pushed. */
export function jwtConfigFrom(e: JwtEnv, problems: string[]): JwtConfig | undefined {
  const sources = [e.MOTIF_JWT_JWKS_URL, e.MOTIF_JWT_JWKS, e.MOTIF_JWT_JWKS_FILE].filter((v) => v !== undefined);
  if (sources.length === 0) return undefined;
  if (sources.length > 1) problems.push('  MOTIF_JWT_JWKS_URL, MOTIF_JWT_JWKS, MOTIF_JWT_JWKS_FILE: set only one');
  if (!e.MOTIF_JWT_ISSUER?.length) problems.push('  MOTIF_JWT_ISSUER: required when a JWKS is configured (comma-separated allow-list)');
  if (!e.MOTIF_JWT_AUDIENCE?.length) problems.push('  MOTIF_JWT_AUDIENCE: required when a JWKS is configured (comma-separated allow-list)');
  let jwks: JwtConfig['jwks'] | undefined;
  if (e.MOTIF_JWT_JWKS_URL) jwks = { url: e.MOTIF_JWT_JWKS_URL };
  else if (e.MOTIF_JWT_JWKS_FILE) jwks = { file: e.MOTIF_JWT_JWKS_FILE };
  else if (e.MOTIF_JWT_JWKS) {
    try {
      jwks = { set: parseJwks(e.MOTIF_JWT_JWKS) };
    } catch (err) {
      problems.push(`  MOTIF_JWT_JWKS: ${(err as Error).message}`);
    }
  }
  if (!jwks || problems.length > 0) return undefined;
  return {
    issuers: e.MOTIF_JWT_ISSUER ?? [],
    audiences: e.MOTIF_JWT_AUDIENCE ?? [],
    algorithms: e.MOTIF_JWT_ALGORITHMS ?? ['RS256', 'ES256'],
    jwks,
    clockSkewS: e.MOTIF_JWT_CLOCK_SKEW_S,
    tenantClaim: e.MOTIF_JWT_TENANT_CLAIM,
    scopesClaim: e.MOTIF_JWT_SCOPES_CLAIM,
  };
}

const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) });

/** A JWKS document from JSON text: `{"keys": [...]}` with at least one key. */
export function parseJwks(text: string): JSONWebKeySet {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error('must be a JSON Web Key Set ({"keys": [...]})');
  }
  const parsed = Jwks.safeParse(v);
  if (!parsed.success) throw new Error('must be a JSON Web Key Set ({"keys": [...]}) with at least one key');
  // Each key's fields are checked by jose when it is imported for a verification.
  return parsed.data as unknown as JSONWebKeySet;
}
