/**
 * The options of MotifModel (validated at construction) and the shape of its debug output.
 */
import { z } from 'zod';
import { WeightsQuant } from './checkpoint/quantize-weights.ts';
import type { MatmulKernel } from './kernels/matmul.ts';

export const ModelOptions = z.object({
  maxChunkRows: z
    .number()
    .int()
    .min(1)
    .max(1 << 16)
    .default(256),
  kvBlockTokens: z
    .number()
    .int()
    .min(1)
    .max(1 << 12)
    .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
    .default(16),
  sliceMs: z.number().min(0).max(60_000).default(10),
  reuseLogits: z.boolean().default(false),
  weightsQuant: WeightsQuant.default('none'),
});

export interface MotifModelOptions {
  /** Matmul implementation (default: the portable JS kernel). */
  kernel?: MatmulKernel;
  /** Most rows (tokens over all sequences) pushed through the layers at once. Default 256. */
  maxChunkRows?: number;
  /** Positions per KV cache block (power of two). Default 16. */
  kvBlockTokens?: number;
  /**
   * Longest stretch (ms) a forward call holds the JS thread before the event loop gets a turn
   * (forward/pacer.ts). Default 10; 0 runs every matmul on the kernel's async path.
   */
  sliceMs?: number;
  /**
   * Return logits as views of one model-owned buffer, valid until the next forward call (no
   * 0.9 MB allocation per sequence per step). Default false: each call returns fresh arrays.
   */
  reuseLogits?: boolean;
  /**
   * Quantise the linear layers at load (checkpoint/quantize-weights.ts): `none` (default) keeps
   * the stored precision; `q8` stores them as Q8_0, about half the bytes of BF16 per decode step.
   */
  weightsQuant?: WeightsQuant;
  /** Give the event loop a turn (default: setImmediate, else a zero timeout). */
  yieldTurn?: () => Promise<void>;
  /** Monotonic milliseconds for pacing (default performance.now). */
  now?: () => number;
}

export interface ForwardDebug {
  /** Logits of every new position. */
  logits: Float32Array[];
  /** hidden[0] = embedding output, hidden[ℓ+1] = output of layer ℓ; each indexed by new position. */
  hidden: Float32Array[][];
  /** Output of the final RMSNorm for every new position. */
  finalNorm: Float32Array[];
}
