/**
 * Bearer authentication for the public API: the token goes to the authenticator (API key, or a
 * JWT when enterprise auth is configured) and the principal ({tenantId, keyId, scopes, limits})
 * lands in the context. Missing, unknown, revoked, expired or malformed credentials are 401; a
 * valid one without the route's scope is 403.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { KeyScope } from '#shared/admin-api.ts';
import { ApiError } from '#shared/errors.ts';
import type { EdgeEnv } from '../../context.ts';
import { isPlausibleKey } from '../../keys/key-format.ts';
import { hasScope } from '../../keys/key-record.ts';
import type { Principal } from '../../ports.ts';
import type { Authenticator, Background } from './key-auth.ts';

export interface AuthOptions {
  authenticate: Authenticator;
  /** Scope the route requires. */
  scope: KeyScope;
}

/** Middleware factory; validates its options at creation. */
export function apiKeyAuth(opts: AuthOptions): MiddlewareHandler<EdgeEnv> {
  if (typeof opts.authenticate !== 'function') throw new Error('apiKeyAuth: authenticate is required');
  if (!opts.scope) throw new Error('apiKeyAuth: scope is required');
  return async function apiKeyAuthMiddleware(c, next) {
    const secret = bearer(c.req.header('authorization'));
    if (!secret) {
      throw new ApiError('authentication_error', "You didn't provide an API key. Provide it in an Authorization header as 'Bearer YOUR_KEY'.");
    }
    c.set('principal', await authorize(opts.authenticate, secret, opts.scope, backgroundOf(c)));
    await next();
  };
}

/** The principal of `secret` if it carries `scope`; throws the 401/403 otherwise. */
export async function authorize(authenticate: Authenticator, secret: string, scope: KeyScope, background: Background): Promise<Principal> {
  const principal = await authenticate(secret, background);
  if (!principal) throw new ApiError('invalid_api_key', `Incorrect API key provided: ${redact(secret)}.`);
  if (!hasScope(principal.scopes, scope)) throw new ApiError('permission_denied', `This API key lacks the '${scope}' scope.`);
  return principal;
}

/** The token of an `Authorization: Bearer …` header. */
export function bearer(header: string | undefined): string | undefined {
  return header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

/** Work after the response: the Worker's `waitUntil` when there is one, else a detached promise. */
export function backgroundOf(c: Context): Background {
  return (work) => {
    try {
      c.executionCtx.waitUntil(work);
    } catch {
      // Node has no execution context: the promise simply runs on (it never rejects: callers catch).
    }
  };
}

/** Show enough of a key to recognise it, never enough to use it (as OpenAI does). */
function redact(secret: string): string {
  if (secret.length < 12 || !isPlausibleKey(secret)) return '***';
  return `${secret.slice(0, 5)}***${secret.slice(-4)}`;
}
