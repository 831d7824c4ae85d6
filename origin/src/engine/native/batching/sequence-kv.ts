/**
 * The KV side of one sequence in the batch: taking its lease (starting on the cached blocks of
 * its prompt's longest cached prefix), offering the blocks each step fills to the prefix cache,
 * giving everything back, and choosing what each running sequence feeds the next step. Kept
 * apart from the step loop (scheduler.ts) so the loop reads as admission, step and faults.
 */
import { ApiError } from '#shared/errors.ts';
import type { KvBlockPool, KvLease } from './prefix-cache-pool.ts';
import type { BatchModel, Job, Seq } from './scheduler-types.ts';

/** What one sequence contributes to a step: its decode token, or its next prompt chunk. */
export interface StepEntry {
  seq: Seq;
  ids: number[];
}

/** A job's scheduler state before admission; `onAbort` runs when its signal fires. */
export function newSequence(job: Job, onAbort: (seq: Seq) => void): Seq {
  const probe = { promptIds: job.promptIds, reserveTokens: job.reserveTokens };
  const seq: Seq = {
    job,
    cache: undefined,
    lease: undefined,
    probe,
    tokens: [...job.promptIds],
    fed: 0,
    next: undefined,
    onAbort: () => onAbort(seq),
    active: true,
    inStep: false,
  };
  return seq;
}

/** Refuse a job that can never run here: an empty prompt, or more KV than the whole budget. */
export function checkJobFits(job: Job, maxSequenceTokens: number): void {
  if (job.promptIds.length === 0) throw new ApiError('invalid_request_error', 'The prompt is empty.', { param: 'prompt' });
  if (job.reserveTokens > maxSequenceTokens || job.reserveTokens <= job.promptIds.length) {
    throw new ApiError('context_length_exceeded', `Request needs ${job.reserveTokens} KV tokens; this engine holds at most ${maxSequenceTokens}.`);
  }
}

/**
 * Lease KV blocks for `seq` and give it a cache starting on the leased prefix. Undefined when
 * the budget has no room now; when the cache cannot be built the lease is returned and the error
 * thrown.
 */
export function leaseSequenceKv(model: BatchModel, pool: KvBlockPool<object>, seq: Seq): KvLease<object> | undefined {
  const lease = pool.tryLease(seq.probe);
  if (!lease) return undefined;
  try {
    const cache = model.createCache(seq.job.reserveTokens);
    if (lease.chain.length > 0) cache.adoptBlocks(lease.chain.map((e) => e.handle));
    seq.cache = cache;
  } catch (err) {
    pool.free(lease);
    throw err;
  }
  seq.lease = lease;
  seq.fed = lease.cachedTokens;
  return lease;
}

/** Give the sequence's blocks back to the pool and drop its cache's block references now. */
export function freeSequenceKv(pool: KvBlockPool<object>, seq: Seq): void {
  if (seq.lease) pool.free(seq.lease);
  seq.lease = undefined;
  seq.cache?.truncate(0); // drops this sequence's block references now, not when the GC gets to it
  seq.cache = undefined;
}

/** Blocks filled by the last step become reusable by later requests. */
export function shareFilledBlocks(pool: KvBlockPool<object>, seq: Seq): void {
  const cache = seq.cache!;
  pool.extend(seq.lease!, seq.tokens, cache.length, (b) => cache.shareBlock(b));
}

/**
 * The next step's rows: every decoding sequence's token, then prompt chunks of prefilling ones
 * up to `prefillChunk` tokens in all (so a long prompt cannot stall everyone else).
 */
export function planStep(running: readonly Seq[], prefillChunk: number): StepEntry[] {
  const batch: StepEntry[] = [];
  let prefillLeft = prefillChunk;
  for (const seq of running) {
    if (seq.next !== undefined) {
      batch.push({ seq, ids: [seq.next] });
      seq.tokens.push(seq.next);
    } else if (prefillLeft > 0) {
      const n = Math.min(prefillLeft, seq.job.promptIds.length - seq.fed);
      prefillLeft -= n;
      batch.push({ seq, ids: seq.job.promptIds.slice(seq.fed, seq.fed + n) as number[] });
    }
  }
  return batch;
}

/** Take `seq` out of the scheduler's concern: no more abort notifications. */
export function detachSequence(seq: Seq): void {
  seq.active = false;
  seq.job.signal.removeEventListener('abort', seq.onAbort);
}
