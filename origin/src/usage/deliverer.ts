/**
 * Drains the usage outbox to the edge's ledger (`POST /internal/usage`, signed). A batch is
 * marked delivered only after a 2xx, so an edge outage or a crash between send and acknowledge
 * means the same records (same request ids) are sent again, and the ledger deduplicates them on
 * (replica_id, request_id). Failures back off exponentially with full jitter.
 */
import { INTERNAL_PATHS } from '#shared/protocol.ts';
import type { UsageBatch } from '#shared/usage.ts';
import type { EdgeClient } from '../pool/edge-client.ts';
import type { UsageOutbox } from '../ports.ts';

export interface DelivererOptions {
  outbox: UsageOutbox;
  client: EdgeClient;
  /** Records per POST (the edge accepts up to 1000). */
  batchSize?: number;
  /** How long to sleep when the outbox is empty and nobody calls `notify()`. */
  idleMs?: number;
  /**
   * How long to wait for more records before sending a partial batch (default 100 ms). The edge
   * commits each batch to disk with an fsync; under load, waiting a moment turns one fsync per
   * handful of requests into one per hundreds, at the price of usage landing 0.1 s later.
   */
  lingerMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
  log?: (line: string) => void;
  onDelivered?: (records: number) => void;
  onFailure?: () => void;
}

export interface UsageDeliverer {
  start(): void;
  /** Wake the loop (a record was appended). */
  notify(): void;
  /** Stop the loop; resolves when it has exited. */
  stop(): Promise<void>;
  /** Stop, then try to deliver everything pending within `timeoutMs`; resolves with the records left. */
  flush(timeoutMs: number): Promise<number>;
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base·2^(attempt−1))]. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(cap * random());
}

/** Create the deliverer (not started). */
export function createUsageDeliverer(opts: DelivererOptions): UsageDeliverer {
  const batchSize = opts.batchSize ?? 200;
  const idleMs = opts.idleMs ?? 1_000;
  const lingerMs = opts.lingerMs ?? 100;
  const baseMs = opts.backoffBaseMs ?? 250;
  const maxMs = opts.backoffMaxMs ?? 30_000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) throw new Error('usage batch size must be 1..1000');
  if (!(lingerMs >= 0 && lingerMs <= 10_000)) throw new Error('usage deliverer lingerMs must be 0..10000');
  if (!(idleMs > 0 && baseMs > 0 && maxMs >= baseMs)) throw new Error('usage deliverer timings must be positive and max ≥ base');
  const random = opts.random ?? Math.random;
  const log = opts.log ?? (() => {});

  let running = false;
  let loop: Promise<void> | undefined;
  let failing = false;
  // A notify() that lands while a batch is in flight must not be lost, hence the flag.
  let notified = false;
  let wakeIdle: (() => void) | undefined;
  let wakeAny: (() => void) | undefined;

  /** Sleep `ms`; `stop()` always ends it early, `notify()` only when `wakeable` (idle, not backing off). */
  function pause(ms: number, wakeable: boolean): Promise<void> {
    if (wakeable && notified) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        wakeIdle = wakeAny = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      wakeAny = done;
      if (wakeable) wakeIdle = done;
    });
  }

  /** One POST of up to one batch: `empty` (nothing pending), `sent` (acknowledged) or `failed`. */
  let lastBatch = 0;
  async function deliverOnce(): Promise<'empty' | 'sent' | 'failed'> {
    notified = false;
    const batch = await opts.outbox.pending(batchSize);
    lastBatch = batch.length;
    if (batch.length === 0) return 'empty';
    const payload: UsageBatch = { records: batch.map((e) => e.record) };
    let why: string;
    try {
      const res = await opts.client.post(INTERNAL_PATHS.usage, payload);
      if (res.ok) {
        await res.body?.cancel();
        await opts.outbox.markDelivered(batch.map((e) => e.id));
        opts.onDelivered?.(batch.length);
        if (failing) log(`usage: delivery to ${opts.client.baseUrl} recovered`);
        failing = false;
        return 'sent';
      }
      why = `HTTP ${res.status} ${(await res.text().catch(() => '')).slice(0, 200)}`;
    } catch (err) {
      why = (err as Error).message;
    }
    opts.onFailure?.();
    if (!failing) log(`usage: delivery to ${opts.client.baseUrl} failed (${why}); records stay in the outbox and are retried`);
    failing = true;
    return 'failed';
  }

  async function run(): Promise<void> {
    let attempt = 0;
    while (running) {
      let result: 'empty' | 'sent' | 'failed';
      try {
        result = await deliverOnce();
      } catch (err) {
        // The outbox itself failed (disk): same backoff as a network failure.
        log(`usage: outbox error: ${(err as Error).message}`);
        result = 'failed';
      }
      if (result === 'sent') {
        attempt = 0;
        if (lastBatch < batchSize && lingerMs > 0) await pause(lingerMs, false);
      } else if (result === 'empty') {
        await pause(idleMs, true);
        if (lingerMs > 0 && running) await pause(lingerMs, false);
      } else await pause(backoffDelay(++attempt, baseMs, maxMs, random), false);
    }
  }

  const stop = async () => {
    running = false;
    wakeAny?.();
    await loop;
    loop = undefined;
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    notify() {
      notified = true;
      wakeIdle?.();
    },
    stop,
    async flush(timeoutMs) {
      await stop();
      const deadline = Date.now() + timeoutMs;
      // Bounded: stops at the first failure or the deadline; what remains waits for the next start.
      while (Date.now() < deadline) {
        const r = await deliverOnce().catch(() => 'failed' as const);
        if (r !== 'sent') break;
      }
      return (await opts.outbox.pending(1000)).length;
    },
  };
}
