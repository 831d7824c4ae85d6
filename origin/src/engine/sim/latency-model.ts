/**
 * The simulator's latency model and KV block budget. Pure: durations in ms from counts, no clock.
 *
 * One step of the batch costs a decode part, `decodeStepMs + decodeMsPerSequence × running +
 * decodeMsPer1kContext × (context tokens of the running set) / 1000`, plus the prefill of the
 * sequences admitted in that step, `prefillMsPerToken × uncached prompt tokens`. The sum is
 * stretched by `slow` and divided by `speed`.
 */

/** Tokens per KV block and per prefix-cache block (vLLM's default block size). */
export const BLOCK_TOKENS = 16;

export interface LatencyParams {
  speed: number;
  slow: number;
  prefillMsPerToken: number;
  decodeStepMs: number;
  decodeMsPerSequence: number;
  decodeMsPer1kContext: number;
}

export interface StepLoad {
  /** Sequences producing a token this step. */
  running: number;
  /** Prompt + generated tokens over the running sequences. */
  contextTokens: number;
  /** Prompt tokens prefilled this step (admitted sequences, minus prefix-cache hits). */
  prefillTokens: number;
}

/** Wall time of one step of the batch, ms (0 when nothing runs). */
export function stepMs(p: LatencyParams, load: StepLoad): number {
  if (load.running === 0) return 0;
  const decode = p.decodeStepMs + p.decodeMsPerSequence * load.running + (p.decodeMsPer1kContext * load.contextTokens) / 1000;
  const prefill = p.prefillMsPerToken * load.prefillTokens;
  return ((decode + prefill) * p.slow) / p.speed;
}

/** Whole blocks needed for `tokens` tokens. */
export function blocksFor(tokens: number): number {
  return Math.ceil(tokens / BLOCK_TOKENS);
}

/**
 * The KV blocks of the running set: a sequence reserves every block it will use when admitted
 * (the simulator knows its own completion length, so it never has to preempt), and frees them
 * when it leaves. A request that does not fit waits.
 */
export class KvBlockBudget {
  #used = 0;

  constructor(readonly totalBlocks: number) {
    if (!Number.isInteger(totalBlocks) || totalBlocks < 1) throw new RangeError(`totalBlocks must be a positive integer, got ${totalBlocks}`);
  }

  /** Reserve `blocks` if they fit; false (nothing reserved) otherwise. */
  tryReserve(blocks: number): boolean {
    if (this.#used + blocks > this.totalBlocks) return false;
    this.#used += blocks;
    return true;
  }

  release(blocks: number): void {
    this.#used = Math.max(0, this.#used - blocks);
  }

  get used(): number {
    return this.#used;
  }

  /** Fraction of the budget reserved, 0..1. */
  get usage(): number {
    return this.#used / this.totalBlocks;
  }
}
