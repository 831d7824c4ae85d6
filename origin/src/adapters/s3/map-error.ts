/** SDK, HTTP and network failures → the ObjectStore port's ApiError codes (one mapping for every S3 path). */
import { ApiError } from '#shared/errors.ts';

export interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** One mapping from SDK/network failures to the port's error codes, naming the object. */
export function mapError(err: unknown, where: string): ApiError {
  if (err instanceof ApiError) return err;
  const e = (err ?? {}) as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? e.code ?? 'Error';
  const detail = `${name}${status ? ` (HTTP ${status})` : ''}${e.message && e.message !== name ? `: ${e.message}` : ''}`;
  if (name === 'AbortError') return new ApiError('client_closed_request', `Aborted: ${where}`, { cause: err });
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket') {
    return new ApiError('not_found', `Not found: ${where} — ${detail}`, { cause: err });
  }
  if (status === 412 || name === 'PreconditionFailed') {
    return new ApiError('conflict', `Object changed (ETag precondition failed): ${where}`, { cause: err });
  }
  if (status === 401 || status === 403) return new ApiError('permission_denied', `Access denied to ${where} — ${detail}`, { cause: err });
  if (status === 416) return new ApiError('unprocessable_entity', `Range not satisfiable: ${where} — ${detail}`, { cause: err });
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new ApiError('invalid_request_error', `S3 refused a request for ${where} — ${detail}`, { cause: err });
  }
  // Network errors, timeouts, 5xx, throttling: transient.
  return new ApiError('origin_unavailable', `S3 unreachable or failing for ${where} — ${detail}`, { cause: err });
}
