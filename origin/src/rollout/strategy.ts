/**
 * How a replica swaps engines on a new weights revision:
 * - `overlap`: load the new engine next to the old one, switch new requests to it, then drain
 *   and close the old one. No gap in service, but both engines are in memory for a while.
 * - `drain-first`: report `draining` (the edge routes elsewhere), let running requests finish,
 *   close the old engine, load the new one, report `ready`. One engine in memory at a time, at
 *   the price of this replica being out of rotation during the reload.
 * `auto` picks `overlap` when a second copy of the weights fits comfortably in free memory.
 */
import { z } from 'zod';
import type { EngineBackend } from '../engine/types.ts';

export const SwapStrategyOption = z.enum(['auto', 'overlap', 'drain-first']);
export type SwapStrategyOption = z.infer<typeof SwapStrategyOption>;
export type SwapStrategy = Exclude<SwapStrategyOption, 'auto'>;

/**
 * Free memory needed per byte of weights for `auto` to overlap: the new weights themselves, and
 * as much again for the new engine's KV cache, scratch buffers and the page cache it reads
 * through, so the overlap never pushes the node into swapping.
 */
export const OVERLAP_HEADROOM = 2;

export interface StrategyInput {
  option: SwapStrategyOption;
  backend: EngineBackend;
  /** Size of the new revision's weight files. */
  weightBytes: number;
  /** Memory the process may still use (cgroup-aware), bytes. */
  availableBytes: number;
}

export interface StrategyChoice {
  strategy: SwapStrategy;
  /** Why, for the log. */
  reason: string;
}

/** Resolve the configured option into the strategy for one swap (pure). */
export function chooseSwapStrategy(i: StrategyInput): StrategyChoice {
  if (i.option !== 'auto') return { strategy: i.option, reason: 'configured' };
  const need = i.weightBytes * OVERLAP_HEADROOM;
  switch (i.backend) {
    case 'native':
      if (Number.isFinite(i.availableBytes) && need <= i.availableBytes) {
        return { strategy: 'overlap', reason: `${mib(need)} MiB needed for a second engine, ${mib(i.availableBytes)} MiB available` };
      }
      return { strategy: 'drain-first', reason: `a second engine needs ${mib(need)} MiB, only ${mib(i.availableBytes)} MiB available` };
    case 'vllm':
      // vLLM claims most of the GPU's memory up front: a second server on the same GCD never fits.
      return { strategy: 'drain-first', reason: 'vllm holds its GPU memory' };
    case 'sim':
      return { strategy: 'overlap', reason: 'the simulator holds no weights' };
  }
}

const mib = (n: number) => (Number.isFinite(n) ? Math.round(n / (1024 * 1024)) : 0);
