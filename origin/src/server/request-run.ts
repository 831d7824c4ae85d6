/**
 * The life of one generation request on the origin, independent of how the response is sent:
 * one abort controller fed by the client connection and the `x-deadline`, one usage tracker, and
 * one `settle` that writes the usage record (exactly once), releases the admission slot and
 * detaches the timers. Whatever path a request takes — refused, failed, aborted, finished — it
 * ends in `settle`.
 */
import { ApiError } from '#shared/errors.ts';
import type { UsageOutcome } from '#shared/usage.ts';
import type { EngineEvent } from '../engine/types.ts';
import { createUsageTracker, type UsageMeta, type UsageTracker } from '../usage/tracker.ts';
import type { OriginDeps } from './deps.ts';

// setTimeout overflows above 2^31−1 ms; deadlines that far out are as good as none.
const MAX_TIMER_MS = 2_147_483_647;

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

/** Begin a run; throws `timeout` when the deadline has already passed. */
export function startRun(deps: OriginDeps, meta: UsageMeta, clientSignal: AbortSignal, deadline: number | undefined): RequestRun {
  const controller = new AbortController();
  const tracker = createUsageTracker(meta, () => deps.clock.now());
  // With a crash journal, a process killed mid-request still bills it on the next start.
  const journal = deps.usage.begin?.(meta, tracker.startedAt, tracker.tokens);
  const log = deps.log ?? (() => {});
  const releases: (() => void)[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let settled: Promise<void> | undefined;

  const abort = (reason: ApiError) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const onClientAbort = () => abort(clientClosed());
  if (clientSignal.aborted) abort(clientClosed());
  else clientSignal.addEventListener('abort', onClientAbort, { once: true });
  if (deadline !== undefined) {
    const ms = deadline - deps.clock.now();
    if (ms <= 0) abort(deadlinePassed());
    else if (ms < MAX_TIMER_MS) timer = setTimeout(() => abort(deadlinePassed()), ms);
  }

  const explain = (err: unknown) => (controller.signal.aborted ? controller.signal.reason : err);
  const outcomeOf = (err: unknown): UsageOutcome => {
    const e = explain(err);
    if (e instanceof ApiError && e.code === 'client_closed_request') return 'abort';
    if (e instanceof ApiError && e.code === 'timeout') return 'stop';
    return 'error';
  };

  async function doSettle(outcome: UsageOutcome): Promise<void> {
    if (timer) clearTimeout(timer);
    clientSignal.removeEventListener('abort', onClientAbort);
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
    signal: controller.signal,
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
    abort,
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
