/**
 * Signature check for the internal endpoints origins call (heartbeat, usage): the same HMAC
 * scheme as forwarded requests (shared/signing.ts), verified over the exact body bytes, with a
 * replay guard on `x-request-id` (origins send a fresh id per attempt, so retries pass; the
 * payloads carry their own ids for idempotency). The verified bytes and the signing key id go
 * into the context: the routes check what that key may speak for.
 */
import type { MiddlewareHandler } from 'hono';
import type { Digests } from '#shared/digests.ts';
import { ApiError } from '#shared/errors.ts';
import { HEADERS } from '#shared/protocol.ts';
import { readBodyLimited } from '#shared/request-body.ts';
import { ReplayGuard, type ReplayWindow, SIGNATURE_HEADER, signInputOf, verify } from '#shared/signing.ts';
import type { EdgeEnv } from '../../context.ts';
import type { Clock } from '../../ports.ts';

export interface SignedOptions {
  keyring: ReadonlyMap<string, string>;
  clock: Clock;
  maxBodyBytes: number;
  /**
   * Where seen request ids are kept (default: in memory, for this middleware instance). A runtime
   * with many isolates passes one window they all share, or a replay sent to another isolate
   * would pass.
   */
  replayWindow?: ReplayWindow;
  /** Hashing for the signature check (default WebCrypto). */
  digests?: Digests;
}

/** Middleware factory; validates its options at creation. */
export function signedInternal(opts: SignedOptions): MiddlewareHandler<EdgeEnv> {
  if (!opts.keyring || opts.keyring.size === 0) throw new Error('signedInternal: keyring must not be empty');
  if (!opts.clock) throw new Error('signedInternal: clock is required');
  if (!(opts.maxBodyBytes > 0)) throw new Error('signedInternal: maxBodyBytes must be positive');
  const replayWindow = opts.replayWindow ?? new ReplayGuard();
  return async function signedInternalMiddleware(c, next) {
    const body = await readBodyLimited(c.req.raw, opts.maxBodyBytes);
    const requestId = c.req.header(HEADERS.requestId) ?? '';
    const now = opts.clock.now();
    const { kid } = await verify(c.req.header(SIGNATURE_HEADER), signInputOf(c.req.raw, body), opts.keyring, now, opts.digests);
    // Checked only after the signature holds, so unsigned traffic cannot fill the replay window.
    if (!requestId || requestId.length > 128)
      throw new ApiError('invalid_request_error', `A signed request needs an ${HEADERS.requestId} of 1..128 characters.`);
    if (!(await replayWindow.check(requestId, now))) throw new ApiError('conflict', `Request id ${requestId} was already used (replay refused).`);
    c.set('signedBody', body);
    c.set('signedBy', kid);
    await next();
  };
}
