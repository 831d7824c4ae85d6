/**
 * The admin API's authentication: the configured admin bearer token, compared in constant time.
 * Every `/admin/*` route calls it first.
 */
import { bearerToken, tokenMatches } from '#shared/bearer.ts';
import { ApiError } from '#shared/errors.ts';

/** Throws unless `header` carries the admin token; with no token configured, refuses everyone. */
export async function requireAdmin(header: string | undefined, token: string | undefined): Promise<void> {
  const presented = bearerToken(header);
  if (!token) throw new ApiError('permission_denied', 'The admin API is disabled (no admin token configured).');
  if (!presented) throw new ApiError('authentication_error', 'An admin token is required.');
  if (!(await tokenMatches(presented, token))) throw new ApiError('authentication_error', 'Invalid admin token.');
}
