/**
 * The usage journal: nothing is lost when an origin dies mid-request (DESIGN §1, the origin is
 * the billing authority). Every run is registered when it starts; its row is written when the
 * engine admits it (prompt tokens known), checkpointed while it streams, and replaced by the final
 * usage record in one transaction when it ends. A process that starts finalizes the rows its
 * dead predecessor left as outcome `error` with their last checkpointed counts.
 *
 * Cost: a checkpoint is one transaction for all running requests, written every `checkpointMs`
 * and whenever a stream is about to run more than `maxUncheckpointedTokens` ahead of its row.
 * Journal writes survive a process crash but are not fsynced (the final records are): after a
 * power cut the rows since the last fsynced commit may be missing.
 *
 * Bound: a stream's first token waits until its row (with the prompt tokens) is stored, and a
 * chunk is handed out only while the row lags the tokens handed out by at most
 * `maxUncheckpointedTokens` (N, default 16), or by one chunk when a single chunk carries more
 * (text held back for a stop string). Tokens count as handed out when the HTTP layer takes their
 * chunk (server/engine-response.ts), so a recovered record bills between (handed out − N) and handed
 * out: never more than the client could have received. A request that handed out nothing (every
 * non-streamed one: its body leaves with its final record) bills nothing after a crash, since the
 * edge may have failed it over (journal-store.ts `recoveredRecord`). Rows are
 * written at admission (batched per event-loop turn) and by the timer: a request that dies within
 * a turn of its admission, or while queued for less than `checkpointMs`, leaves no row — it had
 * delivered nothing.
 */
import type { UsageRecord } from '#shared/usage.ts';
import type { JournalRow, JournalStore, JournalTokens, RunJournal, UsageMeta, UsageSink } from '../ports.ts';
import { recoveredRecord } from './journal-store.ts';

export interface UsageJournalOptions {
  store: JournalStore;
  /** Epoch ms. */
  now: () => number;
  /** Most completion tokens a client may hold beyond the stored row (the under-count bound). */
  maxUncheckpointedTokens?: number;
  /** Checkpoint every running request this often. */
  checkpointMs?: number;
  /** Look for rows of dead sibling processes this often; 0 = only when `recover()` is called. */
  sweepMs?: number;
  /** A record reached the outbox (wake the deliverer). */
  onAppended?: () => void;
  log?: (line: string) => void;
}

export interface JournalStats {
  checkpoints: number;
  rowsWritten: number;
  failures: number;
  recovered: number;
  running: number;
}

export interface UsageJournal extends UsageSink {
  begin(meta: UsageMeta, startedAt: number, tokens: JournalTokens): RunJournal;
  /** Finalize rows left by dead processes; resolves with how many records it appended. */
  recover(): Promise<number>;
  /** Write every changed row now (one transaction). */
  checkpoint(): Promise<void>;
  /** Start the periodic sweep for rows of dead siblings. */
  start(): void;
  /** Stop timers and write a last checkpoint. */
  close(): Promise<void>;
  stats(): JournalStats;
}

interface Live {
  meta: UsageMeta;
  startedAt: number;
  tokens: JournalTokens;
  delivered: number;
  /** What the store holds; undefined = no row yet. */
  stored: { prompt: number; cached: number; delivered: number } | undefined;
}

/** Create the journal; option errors throw here, at startup. */
export function createUsageJournal(opts: UsageJournalOptions): UsageJournal {
  const bound = opts.maxUncheckpointedTokens ?? 16;
  const checkpointMs = opts.checkpointMs ?? 250;
  const sweepMs = opts.sweepMs ?? 30_000;
  if (!Number.isInteger(bound) || bound < 1) throw new Error('usage journal: maxUncheckpointedTokens must be a positive integer');
  if (!(checkpointMs > 0) || !(sweepMs >= 0)) throw new Error('usage journal: checkpointMs must be positive and sweepMs ≥ 0');
  const { store, now } = opts;
  const log = opts.log ?? (() => {});
  const live = new Map<string, Live>();
  const stats = { checkpoints: 0, rowsWritten: 0, failures: 0, recovered: 0 };
  let failing = false;
  let chain: Promise<void> = Promise.resolve();
  let soon: Promise<void> | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  async function writeChanged(): Promise<void> {
    const rows: JournalRow[] = [];
    const written: [Live, NonNullable<Live['stored']>][] = [];
    const at = now();
    for (const e of live.values()) {
      const cur = { prompt: e.tokens.prompt, cached: e.tokens.cached, delivered: e.delivered };
      const s = e.stored;
      if (s && s.prompt === cur.prompt && s.cached === cur.cached && s.delivered === cur.delivered) continue;
      const m = e.meta;
      rows.push({
        replicaId: m.replicaId,
        requestId: m.requestId,
        tenantId: m.tenantId,
        keyId: m.keyId,
        model: m.model,
        revision: m.revision,
        endpoint: m.endpoint,
        promptTokens: cur.prompt,
        cachedTokens: cur.cached,
        completionTokens: cur.delivered,
        startedAt: e.startedAt,
        checkpointedAt: at,
      });
      written.push([e, cur]);
    }
    if (rows.length === 0) return;
    try {
      await store.write(rows);
    } catch (err) {
      stats.failures++;
      // Streams go on (a failed disk must not fail responses); the bound is not kept meanwhile.
      if (!failing) log(`usage: journal write failed (${(err as Error).message}); a crash now would under-bill running requests`);
      failing = true;
      return;
    }
    if (failing) log('usage: journal writes recovered');
    failing = false;
    stats.checkpoints++;
    stats.rowsWritten += rows.length;
    for (const [e, cur] of written) e.stored = cur;
  }

  /** Serialized, so rows are written in the order their counts were taken. */
  const checkpoint = (): Promise<void> =>
    (chain = chain.then(writeChanged).catch((err: unknown) => {
      stats.failures++;
      log(`usage: journal checkpoint failed: ${(err as Error).message}`);
    }));

  /** Group commit: every run admitted in this turn of the event loop shares one transaction. */
  function checkpointSoon(): Promise<void> {
    soon ??= new Promise<void>((resolve) => {
      setTimeout(() => {
        soon = undefined;
        void checkpoint().then(resolve);
      }, 0);
    });
    return soon;
  }

  function track(key: string, e: Live | undefined): void {
    if (e) live.set(key, e);
    else live.delete(key);
    if (live.size > 0 && !ticker && !closed) ticker = setInterval(() => void checkpoint(), checkpointMs);
    if (live.size === 0 && ticker) {
      clearInterval(ticker);
      ticker = undefined;
    }
  }

  async function complete(rec: UsageRecord): Promise<void> {
    const fresh = await store.complete(rec);
    if (!fresh) log(`usage: the outbox already held a record for ${rec.request_id}; kept the first one`);
    opts.onAppended?.();
  }

  async function recover(): Promise<number> {
    const recs = await store.recover(recoveredRecord);
    if (recs.length > 0) {
      stats.recovered += recs.length;
      const ids = recs
        .slice(0, 5)
        .map((r) => r.request_id)
        .join(', ');
      log(`usage: finalized ${recs.length} request(s) left running by a stopped process as outcome error (${ids}${recs.length > 5 ? ', …' : ''})`);
      opts.onAppended?.();
    }
    return recs.length;
  }

  return {
    append: complete,
    begin(meta, startedAt, tokens) {
      const key = `${meta.replicaId}\n${meta.requestId}`;
      const e: Live = { meta, startedAt, tokens, delivered: 0, stored: undefined };
      track(key, e);
      let done = false;
      return {
        admitted() {
          if (!done) void checkpointSoon();
        },
        deliver(n, send) {
          const go = () => {
            send();
            e.delivered += n;
          };
          const s = e.stored;
          const behind = !s || s.prompt !== e.tokens.prompt || s.cached !== e.tokens.cached || e.delivered + n - s.delivered > bound;
          // While the store fails, the ticker keeps retrying; a retry per token would only add load.
          if (done || !behind || failing) {
            go();
            return undefined;
          }
          return checkpoint().then(go);
        },
        async complete(rec) {
          if (done) return;
          done = true;
          // Out of the live set first, so no later checkpoint writes the row back.
          if (live.get(key) === e) track(key, undefined);
          await complete(rec);
        },
      };
    },
    recover,
    checkpoint,
    start() {
      if (sweeper || sweepMs === 0 || closed) return;
      sweeper = setInterval(() => {
        recover().catch((err: unknown) => log(`usage: journal recovery failed: ${(err as Error).message}`));
      }, sweepMs);
      // Never the reason a process stays up (Node timers have unref; others ignore this).
      (sweeper as { unref?: () => void }).unref?.();
    },
    async close() {
      closed = true;
      if (sweeper) clearInterval(sweeper);
      if (ticker) clearInterval(ticker);
      sweeper = ticker = undefined;
      await checkpoint();
    },
    stats: () => ({ ...stats, running: live.size }),
  };
}
