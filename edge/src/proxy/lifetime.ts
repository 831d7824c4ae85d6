/**
 * The lifetime of one proxied request: one AbortSignal for every origin attempt, fired by the
 * client going away or the deadline passing, with the reason kept so the error the client sees
 * says which (499-style cancel vs 504 timeout). `dispose` clears the timer and the listener.
 */
import { ApiError } from '#shared/errors.ts';

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
  const ctrl = new AbortController();
  const abort = (reason: unknown) => {
    if (!ctrl.signal.aborted) ctrl.abort(reason);
  };
  const onClient = () => abort(new ApiError('client_closed_request', 'The client closed the request.'));
  if (clientSignal?.aborted) onClient();
  else clientSignal?.addEventListener('abort', onClient, { once: true });
  const timer = setTimeout(() => abort(new ApiError('timeout', `The request did not complete within ${timeoutMs} ms.`)), timeoutMs);
  return {
    signal: ctrl.signal,
    deadline: now + timeoutMs,
    abort,
    reason: () => (ctrl.signal.aborted ? ctrl.signal.reason : undefined),
    dispose() {
      clearTimeout(timer);
      clientSignal?.removeEventListener('abort', onClient);
    },
  };
}
