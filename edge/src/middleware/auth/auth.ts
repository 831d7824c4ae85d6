/**
 * Bearer API-key authentication: hash the presented key, look it up in the KeyStore, and put
 * the principal ({tenantId, keyId, scopes}) into the context. Unknown, revoked or malformed keys
 * are 401; a valid key without the route's scope is 403.
 */
import type { MiddlewareHandler } from 'hono';
import type { Digests } from '#shared/digests.ts';
import { ApiError } from '#shared/errors.ts';
import type { EdgeEnv } from '../../context.ts';
import type { Clock, KeyStore } from '../../ports.ts';
import { hashApiKey, isPlausibleKey, SCOPES } from './api-keys.ts';

export interface AuthOptions {
  keys: KeyStore;
  clock: Clock;
  /** Scope the route requires (the key needs it or `*`). */
  scope: string;
  /** Hashing of presented keys (default WebCrypto). */
  digests?: Digests;
}

/** Middleware factory; validates its options at creation. */
export function apiKeyAuth(opts: AuthOptions): MiddlewareHandler<EdgeEnv> {
  if (!opts.keys || typeof opts.keys.findByHash !== 'function') throw new Error('apiKeyAuth: keys (KeyStore) is required');
  if (!opts.clock) throw new Error('apiKeyAuth: clock is required');
  if (!opts.scope) throw new Error('apiKeyAuth: scope is required');
  return async function apiKeyAuthMiddleware(c, next) {
    const header = c.req.header('authorization');
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) {
      throw new ApiError('authentication_error', "You didn't provide an API key. Provide it in an Authorization header as 'Bearer YOUR_KEY'.");
    }
    const secret = m[1]!;
    const principal = isPlausibleKey(secret) ? await opts.keys.findByHash(await hashApiKey(secret, opts.digests), opts.clock.now()) : null;
    if (!principal) throw new ApiError('invalid_api_key', `Incorrect API key provided: ${redact(secret)}.`);
    if (!principal.scopes.includes(opts.scope) && !principal.scopes.includes(SCOPES.all)) {
      throw new ApiError('permission_denied', `This API key lacks the '${opts.scope}' scope.`);
    }
    c.set('principal', principal);
    await next();
  };
}

/** Show enough of a key to recognise it, never enough to use it (as OpenAI does). */
function redact(secret: string): string {
  if (secret.length < 12 || !isPlausibleKey(secret)) return '***';
  return `${secret.slice(0, 5)}***${secret.slice(-4)}`;
}
