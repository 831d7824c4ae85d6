/**
 * How the scheduler contains faults. They stay as small as they can be: a sequence whose forward
 * step or callback fails is failed alone (isolated-forward.ts) and its blocks go back to the
 * budget; a broken invariant of the shared KV bookkeeping fails the running sequences and restarts
 * with a fresh KV pool, keeping the queue. Nothing thrown inside the step loop or an abort handler
 * reaches the process: a job callback that throws is reported to `onFault`, never rethrown.
 */
import { ApiError } from '#shared/errors.ts';
import type { Seq } from './scheduler-types.ts';
import { detachSequence } from './sequence-kv.ts';

/** Receives faults the scheduler survived (the engine logs them for operators). */
export type FaultSink = (err: unknown) => void;

export const defaultFaultSink: FaultSink = (err) => console.error('scheduler: engine restarted after an internal error', err);

/** What a request caught by an in-process restart fails with: retryable, 503 with retry-after. */
export function restartError(cause?: unknown): ApiError {
  return new ApiError('engine_unavailable', 'The engine restarted after an internal error; retry the request.', {
    retryAfter: 1,
    ...(cause !== undefined ? { cause } : {}),
  });
}

/** Run a job callback; what it throws is the job's own failure and must not unwind the scheduler. */
export function notifySafely(callback: () => void, onFault: FaultSink): void {
  try {
    callback();
  } catch (err) {
    onFault(err);
  }
}

/**
 * Fail the sequences that were running when the KV pool was reset: their blocks are gone with
 * it, so only the error is left to deliver.
 */
export function failAfterRestart(running: readonly Seq[], err: ApiError, onFault: FaultSink): void {
  for (const seq of running) {
    detachSequence(seq);
    seq.inStep = false;
    seq.lease = undefined;
    seq.cache = undefined;
    notifySafely(() => seq.job.onError(err), onFault);
  }
}
