/**
 * Bounded admission in front of the engine: at most `maxConcurrent` requests hold a slot, at most
 * `maxQueue` wait (FIFO) for one, and anything beyond is refused at once with 503 `overloaded` +
 * `retry-after`, so the edge fails over to another replica before the first byte instead of
 * piling latency onto this one. A waiter whose signal aborts (client gone, deadline) leaves the
 * queue. `close()` refuses everything new and empties the queue (drain).
 */
import { ApiError } from '#shared/errors.ts';

export interface AdmissionOptions {
  maxConcurrent: number;
  maxQueue: number;
  /** Seconds to suggest in `retry-after` when refusing. */
  retryAfterSeconds?: number;
}

export interface Admission {
  /** Wait for a slot; resolves with its release function (idempotent). */
  acquire(signal: AbortSignal): Promise<() => void>;
  /** Refuse new and queued requests from now on (draining). */
  close(reason?: string): void;
  readonly running: number;
  readonly waiting: number;
  /** Requests refused because the queue was full. */
  readonly rejected: number;
}

interface Waiter {
  grant: (release: () => void) => void;
  fail: (err: unknown) => void;
}

/** Create an admission gate; throws on invalid limits (startup, not first request). */
export function createAdmission(opts: AdmissionOptions): Admission {
  if (!Number.isInteger(opts.maxConcurrent) || opts.maxConcurrent < 1) throw new Error('admission maxConcurrent must be an integer ≥ 1');
  if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new Error('admission maxQueue must be an integer ≥ 0');
  const retryAfter = opts.retryAfterSeconds ?? 1;
  const queue: Waiter[] = [];
  let running = 0;
  let rejected = 0;
  let closedReason: string | undefined;

  const unavailable = () => new ApiError('engine_unavailable', closedReason ?? 'This replica is draining.', { retryAfter });

  function makeRelease(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
      // Hand the slot straight to the next waiter, so `running` never dips and lets a newcomer jump the queue.
      if (next) next.grant(makeRelease());
      else running--;
    };
  }

  return {
    acquire(signal) {
      if (closedReason !== undefined) return Promise.reject(unavailable());
      if (signal.aborted) return Promise.reject(signal.reason);
      if (running < opts.maxConcurrent) {
        running++;
        return Promise.resolve(makeRelease());
      }
      if (queue.length >= opts.maxQueue) {
        rejected++;
        return Promise.reject(new ApiError('overloaded', 'The replica is at capacity; retry shortly.', { retryAfter }));
      }
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          reject(signal.reason);
        };
        const waiter: Waiter = {
          grant(release) {
            signal.removeEventListener('abort', onAbort);
            resolve(release);
          },
          fail(err) {
            signal.removeEventListener('abort', onAbort);
            reject(err);
          },
        };
        signal.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    },
    close(reason) {
      closedReason ??= reason ?? 'This replica is draining.';
      for (const w of queue.splice(0)) w.fail(unavailable());
    },
    get running() {
      return running;
    },
    get waiting() {
      return queue.length;
    },
    get rejected() {
      return rejected;
    },
  };
}
