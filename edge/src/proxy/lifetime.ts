/**
 * The lifetime of one proxied request: one AbortSignal for every origin attempt, fired by the
 * client going away or the deadline passing, with the reason kept so the error the client sees
 * says which (499-style cancel vs 504 timeout). `dispose` clears the timer and the listener.
 */
import { ApiError } from '#shared/errors.ts';
import { linkRequestAbort } from '#shared/request-abort.ts';

export interface Lifetime {
  readonly signal: AbortSignal;
  /** Epoch ms the origin must be done by (sent as `x-deadline`). */
  readonly deadline: number;
  abort(reason: unknown): void;
  /** The abort reason, if aborted. */
  reason(): unknown;
  dispose(): void;
}

/** Start a lifetime bounded by `clientSignal` and `timeoutMs` from `now`. */
export function startLifetime(clientSignal: AbortSignal | undefined, now: number, timeoutMs: number): Lifetime {
  const link = linkRequestAbort({
    client: clientSignal,
    clientClosed: () => new ApiError('client_closed_request', 'The client closed the request.'),
    deadlineInMs: timeoutMs,
    deadlinePassed: () => new ApiError('timeout', `The request did not complete within ${timeoutMs} ms.`),
  });
  return {
    signal: link.signal,
    deadline: now + timeoutMs,
    abort: link.abort,
    reason: () => (link.signal.aborted ? link.signal.reason : undefined),
    dispose: link.dispose,
  };
}
