/**
 * The scheduler's contract (scheduler.ts runs it): what it needs from a model and its KV caches,
 * its options, the job a request becomes, test hooks, stats, and the per-sequence state it keeps.
 */
import { z } from 'zod';
import type { KvLease, LeaseProbe } from './prefix-cache-pool.ts';

/** A sequence's KV cache as the scheduler needs it (KvCache satisfies it). */
export interface SequenceCache {
  readonly length: number;
  readonly capacity: number;
  truncate(n: number): void;
  /** Positions per KV block: the unit of the budget and of prefix sharing. */
  readonly blockTokens: number;
  /** Hand out full block `index` for sharing (read-only in this cache from then on). */
  shareBlock(index: number): object;
  /** Start an empty cache on shared blocks (positions 0 … blocks·blockTokens − 1). */
  adoptBlocks(blocks: readonly object[]): void;
}
/** The model as the scheduler needs it (MotifModel satisfies it structurally). */
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
  /** Reuse KV blocks of earlier prompts with the same prefix. */
  prefixCache: z.boolean().default(true),
});
export type SchedulerOptions = z.input<typeof SchedulerOptionsSchema>;

/** One request as the scheduler runs it. */
export interface Job {
  readonly promptIds: readonly number[];
  /** KV tokens to reserve: prompt + most new tokens (≤ maxSequenceTokens). */
  readonly reserveTokens: number;
  readonly signal: AbortSignal;
  /** Logits after the whole prompt or after the last fed token → next token to feed, or undefined when done. */
  onLogits(logits: Float32Array): number | undefined;
  /** Admitted into the batch; `cachedTokens` prompt tokens come from the prefix cache. */
  onStart?(info: { cachedTokens: number }): void;
  /** The signal fired; the job left the queue or batch. Called at most once. */
  onAbort(): void;
  /** The step failed or the engine closed; the job left the batch. Called at most once. */
  onError(err: unknown): void;
}

/** A job's state inside the scheduler (internal to scheduler.ts; not re-exported). */
export interface Seq {
  job: Job;
  cache: SequenceCache | undefined;
  lease: KvLease<object> | undefined;
  probe: LeaseProbe;
  /** Every token id fed so far or being fed (prompt, then decode tokens): the KV's content. */
  tokens: number[];
  /** Prompt tokens already fed (cached ones count as fed). */
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
  /** An internal fault the scheduler survived: a job callback threw, or it restarted (default: console.error). */
  onFault?: (err: unknown) => void;
}

export interface SchedulerStats {
  waiting: number;
  running: number;
  maxRunning: number;
  /** Fraction of the KV budget running sequences hold (unreferenced cached blocks are free). */
  kvUsage: number;
  /** Blocks the prefix cache holds, and the budget, in blocks. */
  cachedBlocks: number;
  budgetBlocks: number;
  /** Prompt tokens looked up in / served from the prefix cache. */
  prefixCacheQueries: number;
  prefixCacheHits: number;
  tokensPerSecond: number;
  promptTokensTotal: number;
  generationTokensTotal: number;
  steps: number;
  /** Times the engine restarted in-process after an internal fault (running sequences failed, KV pool rebuilt). */
  restarts: number;
}
