/**
 * Continuous batching: a step loop where sequences join and leave between steps, each step ONE
 * `model.forward` with every running sequence's decode token plus bounded prefill chunks of new
 * ones. Admission is bounded by `maxRunning`, by the KV budget (prompt + max new tokens reserved
 * up front, so nothing is preempted; the prefix cache lives inside it, prefix-cache-pool.ts) and
 * by a FIFO queue; beyond that, submit throws `overloaded`. What a sequence does with its logits
 * is the job's business; faults stay as small as they can be (faults.ts).
 */
import type { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import { defaultFaultSink, failAfterRestart, notifySafely, restartError } from './faults.ts';
import { forwardIsolated } from './isolated-forward.ts';
import { KvBlockPool } from './prefix-cache-pool.ts';
import {
  type BatchModel,
  type Job,
  type SchedulerHooks,
  type SchedulerOptions,
  SchedulerOptionsSchema,
  type SchedulerStats,
  type Seq,
} from './scheduler-types.ts';
import { checkJobFits, detachSequence, freeSequenceKv, leaseSequenceKv, newSequence, planStep, shareFilledBlocks } from './sequence-kv.ts';
import { retryAfterSeconds, TokenRate } from './token-rate.ts';

export type { BatchModel, Job, SchedulerHooks, SchedulerOptions, SchedulerStats, SequenceCache } from './scheduler-types.ts';
// The contract lives in scheduler-types.ts; importers keep taking it from here.
export { SchedulerOptionsSchema } from './scheduler-types.ts';

/** The step loop. Create one per engine; `submit` jobs; `close` ends it. */
export class Scheduler {
  private readonly model: BatchModel;
  private readonly opts: z.infer<typeof SchedulerOptionsSchema>;
  private readonly pool: KvBlockPool<object>;
  private readonly yieldTurn: () => Promise<void>;
  private readonly now: () => number;
  private readonly onFault: (err: unknown) => void;
  /** Bumped by every restart: a step that began before one drops its results. */
  private epoch = 0;
  private restarts = 0;
  private readonly waiting: Seq[] = [];
  private readonly running: Seq[] = [];
  private looping = false;
  private closed = false;
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  private promptTotal = 0;
  private genTotal = 0;
  private steps = 0;
  private readonly rate = new TokenRate();

  /** Throws a ZodError-derived message on bad options (at construction, not on first use). */
  constructor(model: BatchModel, opts: SchedulerOptions, hooks: SchedulerHooks = {}) {
    this.model = model;
    this.opts = SchedulerOptionsSchema.parse(opts);
    // The block size is a property of the model's caches; an empty one costs no KV memory.
    const blockTokens = model.createCache(1).blockTokens;
    this.pool = new KvBlockPool({ budgetBlocks: Math.floor(this.opts.kvBudgetTokens / blockTokens), blockTokens, prefixCache: this.opts.prefixCache });
    this.yieldTurn = hooks.yieldTurn ?? (() => new Promise<void>((r) => setImmediate(r)));
    this.now = hooks.now ?? (() => performance.now());
    this.onFault = hooks.onFault ?? defaultFaultSink;
  }

  /** Longest sequence (prompt + completion) the KV budget can hold. */
  get maxSequenceTokens(): number {
    return this.pool.budgetBlocks * this.pool.blockTokens;
  }

  /**
   * Queue a job. Throws ApiError `overloaded` (with retryAfter) when the waiting queue is full,
   * `engine_unavailable` when draining or closed.
   */
  submit(job: Job): void {
    if (this.closed) throw new ApiError('engine_unavailable', 'The engine is shut down.');
    if (this.draining) throw new ApiError('engine_unavailable', 'The engine is draining.', { retryAfter: 1 });
    checkJobFits(job, this.maxSequenceTokens);
    if (job.signal.aborted) {
      job.onAbort();
      return;
    }
    const seq = newSequence(job, (s) => this.guarded(() => this.abortSeq(s)));
    job.signal.addEventListener('abort', seq.onAbort, { once: true });
    let started: boolean;
    try {
      started = this.waiting.length === 0 && this.tryStart(seq);
    } catch (err) {
      this.restart(err);
      throw restartError();
    }
    if (!started) {
      if (this.waiting.length >= this.opts.maxQueue) {
        job.signal.removeEventListener('abort', seq.onAbort);
        throw new ApiError('overloaded', 'The engine is at capacity; retry shortly.', { retryAfter: this.retryAfter() });
      }
      this.waiting.push(seq);
    }
    this.kick();
  }

  stats(): SchedulerStats {
    const kv = this.pool.stats();
    return {
      waiting: this.waiting.length,
      running: this.running.length,
      maxRunning: this.opts.maxRunning,
      kvUsage: Math.min(1, kv.usedBlocks / this.pool.budgetBlocks),
      cachedBlocks: kv.cachedBlocks,
      budgetBlocks: this.pool.budgetBlocks,
      prefixCacheQueries: kv.queryTokens,
      prefixCacheHits: kv.hitTokens,
      tokensPerSecond: this.rate.perSecond(this.now()),
      promptTokensTotal: this.promptTotal,
      generationTokensTotal: this.genTotal,
      steps: this.steps,
      restarts: this.restarts,
    };
  }

  /** Stop accepting jobs; resolves when queue and batch are empty. */
  drain(): Promise<void> {
    this.draining = true;
    return this.whenIdle();
  }

  /** Fail every job with engine_unavailable and stop the loop after the current step. */
  async close(): Promise<void> {
    if (this.closed) return this.whenIdle();
    this.closed = true;
    const err = new ApiError('engine_unavailable', 'The engine is shut down.');
    for (const seq of [...this.waiting, ...this.running]) this.fail(seq, err);
    await this.whenIdle();
  }

  private whenIdle(): Promise<void> {
    if (!this.looping && this.running.length === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Admit `seq` if a batch slot and its KV blocks are free (evicting unused cached blocks if that
   * is what it takes). True when it left the queue's concern: started, or failed while starting.
   */
  private tryStart(seq: Seq): boolean {
    if (this.running.length >= this.opts.maxRunning) return false;
    let lease;
    try {
      lease = leaseSequenceKv(this.model, this.pool, seq);
    } catch (err) {
      detachSequence(seq);
      notifySafely(() => seq.job.onError(err), this.onFault);
      return true;
    }
    if (!lease) return false;
    this.promptTotal += lease.cachedTokens;
    this.running.push(seq);
    notifySafely(() => seq.job.onStart?.({ cachedTokens: lease.cachedTokens }), this.onFault);
    return true;
  }

  /** Remove a sequence from wherever it is and give its reservation back. */
  private release(seq: Seq): boolean {
    if (!seq.active) return false;
    detachSequence(seq);
    const w = this.waiting.indexOf(seq);
    if (w >= 0) {
      this.waiting.splice(w, 1);
      return true;
    }
    const r = this.running.indexOf(seq);
    if (r < 0) return false;
    this.running.splice(r, 1);
    // A cache inside the forward call in flight is still being written: its blocks stay counted
    // until the step returns (step() frees them), so the budget never undercounts real memory.
    if (!seq.inStep) freeSequenceKv(this.pool, seq);
    this.admit();
    return true;
  }

  private abortSeq(seq: Seq): void {
    if (this.release(seq)) notifySafely(() => seq.job.onAbort(), this.onFault);
  }

  private fail(seq: Seq, err: unknown): void {
    if (this.release(seq)) notifySafely(() => seq.job.onError(err), this.onFault);
  }

  /** Scheduler work outside the step loop (abort handlers): a fault restarts instead of escaping. */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.restart(err);
    }
  }

  /**
   * The shared KV bookkeeping broke an invariant (a bug), so no running sequence's blocks can be
   * trusted: fail them (retryable), start over with an empty KV pool and prefix cache, and go on
   * with the queue. The weights are untouched, so this is a restart of the engine in-process.
   */
  private restart(err: unknown): void {
    this.epoch++;
    this.restarts++;
    this.onFault(err);
    const running = this.running.splice(0);
    this.pool.reset();
    failAfterRestart(running, restartError(err), this.onFault);
    if (!this.closed) this.admit();
  }

  /** FIFO admission: the head waits for room rather than being overtaken (no starvation). */
  private admit(): void {
    let started = false;
    while (this.waiting.length > 0 && !this.closed && this.tryStart(this.waiting[0]!)) {
      this.waiting.shift();
      started = true;
    }
    if (started) this.kick();
  }

  private retryAfter(): number {
    const backlog = this.waiting.reduce((a, s) => a + s.job.reserveTokens - s.job.promptIds.length, 0);
    return retryAfterSeconds(backlog, this.stats().tokensPerSecond);
  }

  private kick(): void {
    if (this.looping || this.running.length === 0) return;
    this.looping = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (!this.closed && this.running.length > 0) {
        try {
          await this.step();
        } catch (err) {
          this.restart(err);
        }
        // Let HTTP reads/writes, aborts and new submissions in before the next step.
        await this.yieldTurn();
      }
    } finally {
      this.looping = false;
      if (this.running.length > 0 && !this.closed) this.kick();
      else if (this.waiting.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async step(): Promise<void> {
    const batch = planStep(this.running, this.opts.prefillChunk);
    if (batch.length === 0) return;
    const epoch = this.epoch;
    for (const e of batch) e.seq.inStep = true;
    const rows = await forwardIsolated(
      this.model,
      batch.map((e) => ({ cache: e.seq.cache!, ids: e.ids })),
      (i) => batch[i]!.seq.active,
    );
    // A restart while the step ran took these sequences out and dropped their caches.
    if (epoch !== this.epoch) return;
    this.steps++;
    let generated = 0;
    for (let i = 0; i < batch.length; i++) {
      const { seq, ids } = batch[i]!;
      const row = rows[i]!;
      seq.inStep = false;
      // Aborted or failed while the step ran: release() already took it out; its KV goes now.
      if (!seq.active) {
        freeSequenceKv(this.pool, seq);
        continue;
      }
      if ('error' in row) {
        if (row.error.code === 'internal_error') this.onFault(row.error);
        this.fail(seq, row.error);
        continue;
      }
      shareFilledBlocks(this.pool, seq);
      if (seq.next === undefined) {
        seq.fed += ids.length;
        this.promptTotal += ids.length;
        if (seq.fed < seq.job.promptIds.length) continue; // more prompt chunks to go
      }
      generated++;
      let next: number | undefined;
      try {
        next = seq.job.onLogits(row.logits);
      } catch (err) {
        this.fail(seq, err);
        continue;
      }
      if (next === undefined) this.release(seq);
      else seq.next = next;
    }
    this.genTotal += generated;
    this.rate.record(this.now(), generated);
    // KV freed by sequences that were in this step may let the head of the queue in.
    this.admit();
  }
}
