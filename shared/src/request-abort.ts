/**
 * One AbortSignal for the work of one request, fired by whichever comes first: the client going
 * away or a deadline passing. The abort reason is kept, so the error reported says which (a
 * client-closed 499 or a 504 timeout). Web-standard only (AbortController, setTimeout), so the
 * edge on Workers and the origin on Node share it: the edge bounds its origin attempts with it,
 * the origin bounds a generation run.
 */

// setTimeout overflows above 2^31−1 ms; a deadline that far out is as good as none.
const MAX_TIMER_MS = 2_147_483_647;

export interface RequestAbortOptions {
  /** The client's signal (the incoming request's); undefined when there is none. */
  client: AbortSignal | undefined;
  /** The reason to abort with when the client goes away. */
  clientClosed: () => unknown;
  /** Milliseconds from now until the deadline; ≤ 0 aborts at once, undefined = no deadline. */
  deadlineInMs: number | undefined;
  /** The reason to abort with when the deadline passes. */
  deadlinePassed: () => unknown;
}

export interface RequestAbort {
  readonly signal: AbortSignal;
  /** Abort now with `reason` (ignored when already aborted: the first reason wins). */
  abort(reason: unknown): void;
  /** Clear the deadline timer and detach from the client signal. Idempotent. */
  dispose(): void;
}

/** Link a fresh signal to the client's and to a deadline. */
export function linkRequestAbort(o: RequestAbortOptions): RequestAbort {
  const ctrl = new AbortController();
  const abort = (reason: unknown) => {
    if (!ctrl.signal.aborted) ctrl.abort(reason);
  };
  const onClient = () => abort(o.clientClosed());
  if (o.client?.aborted) onClient();
  else o.client?.addEventListener('abort', onClient, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (o.deadlineInMs !== undefined) {
    if (o.deadlineInMs <= 0) abort(o.deadlinePassed());
    else if (o.deadlineInMs < MAX_TIMER_MS) timer = setTimeout(() => abort(o.deadlinePassed()), o.deadlineInMs);
  }
  return {
    signal: ctrl.signal,
    abort,
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      o.client?.removeEventListener('abort', onClient);
    },
  };
}
