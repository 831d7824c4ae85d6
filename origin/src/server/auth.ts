/**
 * Signature check for every /v1 and /admin request (DESIGN §4): the edge signs method, path,
 * request id, tenant id, time and the body hash; we verify against the keyring, refuse a skew of
 * more than 5 minutes and refuse a request id seen before (replay). The raw body is read here,
 * once, because the signature covers its exact bytes; handlers get it from the context.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '#shared/errors.ts';
import { HEADERS } from '#shared/protocol.ts';
import { readBodyLimited } from '#shared/request-body.ts';
import { type ReplayWindow, SIGNATURE_HEADER, signInputOf, verify } from '#shared/signing.ts';
import type { Clock } from '../ports.ts';

export interface SignedRequest {
  /** The exact body bytes that were signed. */
  body: Uint8Array;
  requestId: string;
  tenantId: string;
  keyId: string;
}

export type OriginEnv = { Variables: { signed: SignedRequest } };

export interface SignatureAuthOptions {
  keyring: ReadonlyMap<string, string>;
  replayGuard: ReplayWindow;
  clock: Clock;
  maxBodyBytes: number;
}

/** Middleware factory; checks its options at creation. */
export function signatureAuth(opts: SignatureAuthOptions): MiddlewareHandler<OriginEnv> {
  if (opts.keyring.size === 0) throw new Error('signatureAuth: empty keyring');
  if (!(opts.maxBodyBytes > 0)) throw new Error('signatureAuth: maxBodyBytes must be positive');
  return async function signatureAuthMiddleware(c, next) {
    // Counted as it streams, before the signature is checked: an unsigned chunked upload must not
    // be read whole into memory (readBodyLimited cancels it past the limit).
    const body = await readBodyLimited(c.req.raw, opts.maxBodyBytes);

    const requestId = c.req.header(HEADERS.requestId) ?? '';
    const tenantId = c.req.header(HEADERS.tenantId) ?? '';
    const now = opts.clock.now();
    await verify(c.req.header(SIGNATURE_HEADER), signInputOf(c.req.raw, body), opts.keyring, now);
    // Only after the signature holds: unsigned traffic must not be able to fill the replay window.
    if (!requestId) throw new ApiError('invalid_request_error', `Missing ${HEADERS.requestId} header.`);
    if (requestId.length > 128) throw new ApiError('invalid_request_error', `${HEADERS.requestId} is longer than 128 characters.`);
    if (!(await opts.replayGuard.check(requestId, now))) throw new ApiError('conflict', `Request id ${requestId} was already used (replay refused).`);
    c.set('signed', { body, requestId, tenantId, keyId: c.req.header(HEADERS.keyId) ?? '' });
    await next();
  };
}
