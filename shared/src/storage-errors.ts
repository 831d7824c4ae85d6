/**
 * A local store (SQLite) that cannot take a write right now — locked by another process, disk
 * full, read-only, failing I/O — is a retryable 503 `storage_unavailable`, not a 500: the caller
 * (an origin delivering usage, the edge forwarding a request) retries later or elsewhere. One
 * definition for the edge's and the origin's SQLite adapters; it reads the error's `code` only,
 * so it imports no SQLite binding.
 */
import { ApiError } from './errors.ts';

/** SQLite result codes (and their extended forms) that mean "not now", not "wrong request". */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|READONLY|IOERR|CANTOPEN|PROTOCOL)/;

/** The ApiError a store failure means, or undefined when it is some other error. */
export function storageUnavailable(err: unknown, store: string): ApiError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !UNAVAILABLE.test(code)) return undefined;
  return new ApiError('storage_unavailable', `The ${store} is unavailable right now (${code}). Please retry.`, { retryAfter: 1, cause: err });
}
