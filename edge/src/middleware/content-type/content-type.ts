/**
 * JSON-only request bodies: a POST, PUT or PATCH whose `content-type` is not JSON gets a 415 in
 * OpenAI error JSON before anything reads the body (a form-encoded or multipart body would
 * otherwise surface as a confusing "could not parse the JSON body").
 *
 * Accepted: `application/json` and any `application/*+json`, with or without parameters
 * (`; charset=utf-8`). A request without `content-type` is read as JSON, as the OpenAI API does:
 * hand-written clients often omit it, and the body still has to parse as JSON. A request with an
 * empty body (`content-length: 0`) is not checked, since there is nothing to misread.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '#shared/errors.ts';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** True for `application/json` and `application/<anything>+json`, parameters ignored. */
export function isJsonMediaType(contentType: string): boolean {
  const mediaType = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (mediaType === 'application/json') return true;
  return mediaType.startsWith('application/') && mediaType.endsWith('+json') && !mediaType.includes(' ');
}

/** Middleware factory: refuse non-JSON bodies on the routes it is mounted on with 415. */
export function jsonContentType(): MiddlewareHandler {
  return async function jsonContentType(c, next) {
    if (BODY_METHODS.has(c.req.method)) {
      const contentType = c.req.header('content-type');
      const empty = c.req.header('content-length') === '0';
      if (contentType && !empty && !isJsonMediaType(contentType))
        throw new ApiError('unsupported_media_type', `Unsupported content-type '${contentType.slice(0, 100)}': send the body as application/json.`);
    }
    await next();
  };
}
