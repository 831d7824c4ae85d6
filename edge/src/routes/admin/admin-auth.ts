/**
 * Who may use `/admin/*`: the operator's admin token (MOTIF_ADMIN_TOKEN, compared in constant
 * time) or an API key / JWT carrying the `admin` scope. A wrong or missing credential is 401; a
 * valid key without the scope is 403.
 */
import type { MiddlewareHandler } from 'hono';
import { tokenMatches } from '#shared/bearer.ts';
import { ApiError } from '#shared/errors.ts';
import type { EdgeEnv } from '../../context.ts';
import { SCOPES } from '../../keys/key-record.ts';
import { authorize, backgroundOf, bearer } from '../../middleware/auth/auth.ts';
import type { Authenticator } from '../../middleware/auth/key-auth.ts';

export interface AdminAuthOptions {
  /** The operator token; unset = only `admin`-scoped keys get in. */
  adminToken?: string;
  authenticate: Authenticator;
}

/** Middleware factory for the admin routes. */
export function adminAuth(opts: AdminAuthOptions): MiddlewareHandler<EdgeEnv> {
  if (typeof opts.authenticate !== 'function') throw new Error('adminAuth: authenticate is required');
  return async function adminAuthMiddleware(c, next) {
    const presented = bearer(c.req.header('authorization'));
    if (!presented) throw new ApiError('authentication_error', 'An admin token or an API key with the admin scope is required.');
    if (opts.adminToken && (await tokenMatches(presented, opts.adminToken))) return next();
    try {
      c.set('principal', await authorize(opts.authenticate, presented, SCOPES.admin, backgroundOf(c)));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_api_key') throw new ApiError('authentication_error', 'Invalid admin token or API key.');
      throw err;
    }
    await next();
  };
}
