/**
 * Continuous batching for the native engine. A step loop where sequences join and leave the
 * running set between steps; every step is ONE `model.forward` call carrying the decode token of
 * each running sequence plus prefill chunks of newly admitted ones (bounded per step, so a long
 * prompt cannot stall everyone else). Admission is bounded three ways: `maxRunning` sequences, a
 * KV budget (a sequence reserves prompt + max new tokens up front, so a running sequence never
 * has to be preempted) and a bounded FIFO waiting queue; beyond that, submit throws `overloaded`.
 * What a sequence does with its logits (sampling, text, events) is the job's business.
 */
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';

/** The model as the scheduler needs it (MotifModel satisfies it structurally). */
export interface SequenceCache {
  readonly length: number;
  readonly capacity: number;
  truncate(n: number): void;
}
export interface BatchModel {
  createCache(capacityTokens: number): SequenceCache;
  /** One batched step: appends ids to each cache, returns each sequence's last-position logits. */
  forward(batch: ReadonlyArray<{ cache: SequenceCache; ids: readonly number[] }>): Promise<Float32Array[]>;
}

export const SchedulerOptionsSchema = z.strictObject({
  maxRunning: z.number().int().min(1).max(4096),
  kvBudgetTokens: z.number().int().min(1),
  maxQueue: z.number().int().min(0).max(1_000_000),
  /** Most prompt tokens prefilled per step, over all admitted sequences. */
  prefillChunk: z.number().int().min(1),
});
export type SchedulerOptions = z.infer<typeof SchedulerOptionsSchema>;

/** One request as the scheduler runs it. */
export interface Job {
  readonly promptIds: readonly number[];
  /** KV tokens to reserve: prompt + most new tokens (≤ kvBudgetTokens). */
  readonly reserveTokens: number;
  readonly signal: AbortSignal;
  /** Logits after the whole prompt or after the last fed token → next token to feed, or undefined when done. */
  onLogits(logits: Float32Array): number | undefined;
  /** The signal fired; the job left the queue or batch. Called at most once. */
  onAbort(): void;
  /** The step failed or the engine closed; the job left the batch. Called at most once. */
  onError(err: unknown): void;
}

interface Seq {
  job: Job;
  cache: SequenceCache | undefined;
  /** Prompt tokens already fed. */
  fed: number;
  /** Token to feed in the next decode step (after prefill completes). */
  next: number | undefined;
  onAbort: () => void;
  /** In the queue or the batch. */
  active: boolean;
  /** Part of the forward call in flight: its cache must not be touched until the call returns. */
  inStep: boolean;
}

export interface SchedulerHooks {
  /** Give I/O a turn between steps (default: setImmediate). */
  yieldTurn?: () => Promise<void>;
  /** Monotonic milliseconds (default: performance.now). */
  now?: () => number;
}

export interface SchedulerStats {
  waiting: number;
  running: number;
  maxRunning: number;
  kvUsage: number;
  tokensPerSecond: number;
  promptTokensTotal: number;
  generationTokensTotal: number;
  steps: number;
}

const TPS_WINDOW_MS = 10_000;

/** The step loop. Create one per engine; `submit` jobs; `close` ends it. */
export class Scheduler {
  private readonly model: BatchModel;
  private readonly opts: SchedulerOptions;
  private readonly yieldTurn: () => Promise<void>;
  private readonly now: () => number;
  private readonly waiting: Seq[] = [];
  private readonly running: Seq[] = [];
  private reserved = 0;
  private looping = false;
  private closed = false;
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  private promptTotal = 0;
  private genTotal = 0;
  private steps = 0;
  // (time, generated tokens) per recent step, for tokens/s over a sliding window.
  private readonly recent: { t: number; n: number }[] = [];

  /** Throws a ZodError-derived message on bad options (at construction, not on first use). */
  constructor(model: BatchModel, opts: SchedulerOptions, hooks: SchedulerHooks = {}) {
    this.model = model;
    this.opts = SchedulerOptionsSchema.parse(opts);
    this.yieldTurn = hooks.yieldTurn ?? (() => new Promise<void>((r) => setImmediate(r)));
    this.now = hooks.now ?? (() => performance.now());
  }

  /**
   * Queue a job. Throws ApiError `overloaded` (with retryAfter) when the waiting queue is full,
   * `engine_unavailable` when draining or closed.
   */
  submit(job: Job): void {
    if (this.closed) throw new ApiError('engine_unavailable', 'The engine is shut down.');
    if (this.draining) throw new ApiError('engine_unavailable', 'The engine is draining.', { retryAfter: 1 });
    if (job.promptIds.length === 0) throw new ApiError('invalid_request_error', 'The prompt is empty.', { param: 'prompt' });
    if (job.reserveTokens > this.opts.kvBudgetTokens || job.reserveTokens <= job.promptIds.length) {
      throw new ApiError('context_length_exceeded', `Request needs ${job.reserveTokens} KV tokens; this engine holds at most ${this.opts.kvBudgetTokens}.`);
    }
    if (job.signal.aborted) return job.onAbort();
    const seq: Seq = { job, cache: undefined, fed: 0, next: undefined, onAbort: () => this.abortSeq(seq), active: true, inStep: false };
    if (this.waiting.length === 0 && this.fits(seq)) {
      this.start(seq);
    } else {
      if (this.waiting.length >= this.opts.maxQueue) {
        throw new ApiError('overloaded', 'The engine is at capacity; retry shortly.', { retryAfter: this.retryAfter() });
      }
      this.waiting.push(seq);
    }
    job.signal.addEventListener('abort', seq.onAbort, { once: true });
    this.kick();
  }

  stats(): SchedulerStats {
    const now = this.now();
    while (this.recent.length > 0 && now - this.recent[0]!.t > TPS_WINDOW_MS) this.recent.shift();
    const n = this.recent.reduce((a, r) => a + r.n, 0);
    const span = this.recent.length > 0 ? Math.max(1_000, now - this.recent[0]!.t) : TPS_WINDOW_MS;
    return {
      waiting: this.waiting.length,
      running: this.running.length,
      maxRunning: this.opts.maxRunning,
      kvUsage: Math.min(1, this.reserved / this.opts.kvBudgetTokens),
      tokensPerSecond: (n * 1000) / span,
      promptTokensTotal: this.promptTotal,
      generationTokensTotal: this.genTotal,
      steps: this.steps,
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

  private fits(seq: Seq): boolean {
    return this.running.length < this.opts.maxRunning && this.reserved + seq.job.reserveTokens <= this.opts.kvBudgetTokens;
  }

  private start(seq: Seq): void {
    seq.cache = this.model.createCache(seq.job.reserveTokens);
    this.reserved += seq.job.reserveTokens;
    this.running.push(seq);
  }

  /** Remove a sequence from wherever it is and give its reservation back. */
  private release(seq: Seq): boolean {
    if (!seq.active) return false;
    seq.active = false;
    seq.job.signal.removeEventListener('abort', seq.onAbort);
    const w = this.waiting.indexOf(seq);
    if (w >= 0) {
      this.waiting.splice(w, 1);
      return true;
    }
    const r = this.running.indexOf(seq);
    if (r < 0) return false;
    this.running.splice(r, 1);
    this.reserved -= seq.job.reserveTokens;
    if (!seq.inStep) this.dropCache(seq);
    this.admit();
    return true;
  }

  private dropCache(seq: Seq): void {
    seq.cache?.truncate(0); // frees the KV blocks now, not when the GC gets to it
    seq.cache = undefined;
  }

  private abortSeq(seq: Seq): void {
    if (this.release(seq)) seq.job.onAbort();
  }

  private fail(seq: Seq, err: unknown): void {
    if (this.release(seq)) seq.job.onError(err);
  }

  /** FIFO admission: the head waits for room rather than being overtaken (no starvation). */
  private admit(): void {
    while (this.waiting.length > 0 && !this.closed && this.fits(this.waiting[0]!)) this.start(this.waiting.shift()!);
  }

  private retryAfter(): number {
    const tps = this.stats().tokensPerSecond;
    const backlog = this.waiting.reduce((a, s) => a + s.job.reserveTokens - s.job.promptIds.length, 0);
    return tps > 0 ? Math.min(60, Math.max(1, Math.ceil(backlog / tps))) : 1;
  }

  private kick(): void {
    if (this.looping || this.running.length === 0) return;
    this.looping = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (!this.closed && this.running.length > 0) {
        await this.step();
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
    const batch: { seq: Seq; ids: number[] }[] = [];
    let prefillLeft = this.opts.prefillChunk;
    for (const seq of this.running) {
      if (seq.next !== undefined) {
        batch.push({ seq, ids: [seq.next] });
      } else if (prefillLeft > 0) {
        const n = Math.min(prefillLeft, seq.job.promptIds.length - seq.fed);
        prefillLeft -= n;
        batch.push({ seq, ids: seq.job.promptIds.slice(seq.fed, seq.fed + n) as number[] });
      }
    }
    if (batch.length === 0) return;
    let logits: Float32Array[];
    for (const e of batch) e.seq.inStep = true;
    try {
      logits = await this.model.forward(batch.map((e) => ({ cache: e.seq.cache!, ids: e.ids })));
      if (logits.length !== batch.length) throw new Error(`forward returned ${logits.length} rows for ${batch.length} sequences`);
    } catch (err) {
      for (const e of batch) e.seq.inStep = false;
      const e = err instanceof ApiError ? err : new ApiError('internal_error', 'The model failed during a forward step.', { cause: err });
      for (const { seq } of batch) this.fail(seq, e);
      return;
    }
    this.steps++;
    let generated = 0;
    for (let i = 0; i < batch.length; i++) {
      const { seq, ids } = batch[i]!;
      seq.inStep = false;
      // Aborted or failed while the step ran: release() already took it out; its cache goes now.
      if (!seq.active) {
        this.dropCache(seq);
        continue;
      }
      if (seq.next === undefined) {
        seq.fed += ids.length;
        this.promptTotal += ids.length;
        if (seq.fed < seq.job.promptIds.length) continue; // more prompt chunks to go
      }
      generated++;
      let next: number | undefined;
      try {
        next = seq.job.onLogits(logits[i]!);
      } catch (err) {
        this.fail(seq, err);
        continue;
      }
      if (next === undefined) {
        this.release(seq);
      } else {
        seq.next = next;
      }
    }
    this.genTotal += generated;
    this.recent.push({ t: this.now(), n: generated });
    if (this.recent.length > 10_000) this.recent.splice(0, this.recent.length - 10_000);
  }
}
