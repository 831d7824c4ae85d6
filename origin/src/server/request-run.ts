/**
 * One generation request's run, independent of how the response is sent: one abort signal fed
 * by the client connection and the `x-deadline` (shared/src/request-abort.ts), one usage tracker,
 * and one `settle` that writes the usage record (exactly once), releases the admission slot and
 * the engine pin and detaches the timer. Whatever path a request takes — refused, failed,
 * aborted, finished — it ends in `settle`.
 */
import { ApiError } from '#shared/errors.ts';
import { linkRequestAbort } from '#shared/request-abort.ts';
import type { UsageOutcome } from '#shared/usage.ts';
import type { EngineEvent } from '../engine/types.ts';
import type { UsageMeta } from '../ports.ts';
import { createUsageTracker, type UsageTracker } from '../usage/tracker.ts';
import type { OriginDeps } from './deps.ts';

/** What a run needs from the app's dependencies. */
export type RunDeps = Pick<OriginDeps, 'clock' | 'usage' | 'metrics' | 'log'>;

export interface RequestRun {
  readonly signal: AbortSignal;
  readonly tracker: UsageTracker;
  /** Feed an engine event to the usage tracker (and the crash journal, when there is one). */
  observe(ev: EngineEvent): void;
  /**
   * Hand `tokens` completion tokens to the client by calling `send` (synchronous). With a crash
   * journal this may first wait for a checkpoint (see usage/journal.ts), so await the result.
   */
  deliver(tokens: number, send: () => void): Promise<void> | undefined;
  /** Abort the engine work with an ApiError saying why (client gone, deadline). */
  abort(reason: ApiError): void;
  /** Give the run something `settle` must free: its admission slot, its engine pin. */
  holdSlot(release: () => void): void;
  /** The error a failure should be reported as: the abort reason wins over what the engine threw. */
  explain(err: unknown): unknown;
  /** Record usage once, free the slot, drop listeners. Safe to call more than once. */
  settle(outcome: UsageOutcome): Promise<void>;
  /** `settle` with the outcome a failure implies. */
  fail(err: unknown): Promise<void>;
}

export const clientClosed = () => new ApiError('client_closed_request', 'The client closed the connection.');
export const deadlinePassed = () => new ApiError('timeout', 'The request deadline (x-deadline) passed.');

/** Parse `x-deadline` (epoch ms); undefined when absent, 400 when malformed. */
export function parseDeadline(header: string | undefined): number | undefined {
  if (header === undefined || header === '') return undefined;
  const n = Number(header);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ApiError('invalid_request_error', 'x-deadline must be epoch milliseconds.');
  return n;
}

/** Begin a run; its signal is aborted at once (`timeout`) when the deadline has already passed. */
export function startRun(deps: RunDeps, meta: UsageMeta, clientSignal: AbortSignal, deadline: number | undefined): RequestRun {
  const tracker = createUsageTracker(meta, () => deps.clock.now());
  // With a crash journal, a process killed mid-request still bills it on the next start.
  const journal = deps.usage.begin?.(meta, tracker.startedAt, tracker.tokens);
  const log = deps.log ?? (() => {});
  const releases: (() => void)[] = [];
  let settled: Promise<void> | undefined;
  const link = linkRequestAbort({
    client: clientSignal,
    clientClosed,
    deadlineInMs: deadline === undefined ? undefined : deadline - deps.clock.now(),
    deadlinePassed,
  });

  const explain = (err: unknown) => (link.signal.aborted ? link.signal.reason : err);
  // Ended before the engine started it: a refusal (busy, draining, bad request, deadline already
  // passed, refused by the engine), not a billed request, unless the client itself went away.
  const outcomeOf = (err: unknown): UsageOutcome => {
    const e = explain(err);
    if (e instanceof ApiError && e.code === 'client_closed_request') return 'abort';
    if (!tracker.engineStarted) return 'refused';
    if (e instanceof ApiError && e.code === 'timeout') return 'stop';
    return 'error';
  };

  async function doSettle(outcome: UsageOutcome): Promise<void> {
    link.dispose();
    for (const r of releases.splice(0)) r();
    try {
      const rec = tracker.finalize(outcome);
      if (!rec) return;
      if (journal) await journal.complete(rec);
      else await deps.usage.append(rec);
      deps.metrics.usageRecorded(outcome);
    } catch (err) {
      // The response is already paid for in compute; losing the record is logged and counted,
      // not turned into a failed response.
      deps.metrics.usageAppendFailed();
      log(`usage: could not store the record of ${meta.requestId}: ${(err as Error).message}`);
    }
  }

  const settle = (outcome: UsageOutcome) => (settled ??= doSettle(outcome));
  return {
    signal: link.signal,
    tracker,
    observe(ev) {
      tracker.observe(ev);
      if (ev.type === 'start') journal?.admitted();
    },
    deliver(tokens, send) {
      if (journal) return journal.deliver(tokens, send);
      send();
      return undefined;
    },
    abort: link.abort,
    holdSlot(r) {
      // A run that already settled must not keep a slot it will never free.
      if (settled) r();
      else releases.push(r);
    },
    explain,
    settle,
    fail: (err) => settle(outcomeOf(err)),
  };
}
