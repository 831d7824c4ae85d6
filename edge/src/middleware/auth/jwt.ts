/**
 * Enterprise authentication: a bearer token shaped like a JWT is verified with `jose` against
 * allow-lists of issuers, audiences and algorithms, with keys from a JWKS (a URL, or a static
 * set for air-gapped sites) and a bounded clock skew. A claim names the tenant, which must exist
 * and be enabled, so its limits and quota apply exactly as to its API keys; another claim
 * carries the scopes. The caller is metered as key `jwt:<sub>`.
 */
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { TenantId } from '#shared/admin-api.ts';
import { DEFAULT_SCOPES } from '../../keys/key-record.ts';
import type { Clock, KeyStore, Principal } from '../../ports.ts';
import type { Authenticator } from './key-auth.ts';

/** Asymmetric algorithms only: a JWKS holds public keys, and the edge must never hold a signing secret. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export interface JwtOptions {
  issuers: string[];
  audiences: string[];
  algorithms: string[];
  /** Where the verification keys come from. */
  jwks: { url: string } | { set: JSONWebKeySet };
  clockSkewS: number;
  tenantClaim: string;
  scopesClaim: string;
}

/** Three base64url parts: what a compact JWS looks like (an API key never has dots). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

export interface JwtAuthDeps {
  keys: KeyStore;
  clock: Clock;
  /** Replace the JWKS source (tests); default from `opts.jwks`. */
  getKey?: JWTVerifyGetKey;
}

/** An Authenticator for JWTs; validates its options at creation. */
export function jwtAuthenticator(opts: JwtOptions, deps: JwtAuthDeps): Authenticator {
  if (opts.issuers.length === 0) throw new Error('jwtAuthenticator: at least one issuer is required');
  if (opts.audiences.length === 0) throw new Error('jwtAuthenticator: at least one audience is required');
  const unknown = opts.algorithms.filter((a) => !(JWT_ALGORITHMS as readonly string[]).includes(a));
  if (opts.algorithms.length === 0 || unknown.length > 0) throw new Error(`jwtAuthenticator: algorithms must be among ${JWT_ALGORITHMS.join(', ')}`);
  if (!(opts.clockSkewS >= 0 && opts.clockSkewS <= 3600)) throw new Error('jwtAuthenticator: clockSkewS must be 0..3600');
  const getKey = deps.getKey ?? ('url' in opts.jwks ? createRemoteJWKSet(new URL(opts.jwks.url)) : createLocalJWKSet(opts.jwks.set));
  return async (token) => {
    if (!looksLikeJwt(token)) return null;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: opts.issuers,
        audience: opts.audiences,
        algorithms: opts.algorithms,
        clockTolerance: opts.clockSkewS,
        currentDate: new Date(deps.clock.now()),
      }));
    } catch {
      // Bad signature, wrong issuer, expired, unknown kid, JWKS unreachable: all mean "not authenticated".
      return null;
    }
    const tenantId = TenantId.safeParse(payload[opts.tenantClaim]);
    if (!tenantId.success || typeof payload.sub !== 'string' || payload.sub === '') return null;
    const tenant = await deps.keys.getTenant(tenantId.data);
    if (!tenant || (tenant.disabledAt !== null && tenant.disabledAt <= deps.clock.now())) return null;
    const principal: Principal = {
      tenantId: tenant.id,
      keyId: `jwt:${payload.sub}`,
      scopes: scopesOf(payload[opts.scopesClaim]),
      limits: { tenant: tenant.limits, key: { rpm: null, tpm: null }, monthlyTokens: tenant.monthlyTokens },
    };
    return principal;
  };
}

/** Scopes from a claim: a space-separated string (OAuth `scope`) or an array; absent = the key default. */
function scopesOf(claim: unknown): string[] {
  if (claim === undefined) return [...DEFAULT_SCOPES];
  if (typeof claim === 'string') return claim.split(' ').filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === 'string');
  return [];
}

/** API keys, and JWTs when configured: a JWT-shaped token goes to the JWT verifier. */
export function eitherAuthenticator(keys: Authenticator, jwt: Authenticator | undefined): Authenticator {
  if (!jwt) return keys;
  return (token, background) => (looksLikeJwt(token) ? jwt(token, background) : keys(token, background));
}
