/**
 * Load-time quantisation of a loaded checkpoint (MotifModelOptions.weightsQuant, origin
 * MOTIF_WEIGHTS_QUANT). `q8`: the linear layers' matrices (fused q/k/v, o, fused gate/up, down)
 * and the output head become Q8_0 (../kernels/q8.ts); the embedding and the norms keep their
 * stored precision. The head is the tied embedding in Motif 2.6B, so its Q8_0 form is a second
 * copy (0.47 GB) next to the BF16 rows the embedding lookup reads: measured, it makes batch-1
 * decode ~20% faster than Q8_0 layers alone at no visible cost in distance (../README.md). The
 * single q/k/v and gate/up matrices become row views of the fused Q8_0 ones, as they are views of
 * the fused buffers when loaded.
 */
import { z } from 'zod';
import type { WeightMatrix } from '../kernels/dtype.ts';
import { Q8_BLOCK, Q8_BLOCK_BYTES } from '../kernels/dtype.ts';
import { quantizeQ8 } from '../kernels/q8.ts';
import type { LayerWeights, MotifWeights } from './weights.ts';

/** Weight quantisation at load: `none` (default, the stored precision) or `q8` (Q8_0 linear layers). */
export const WeightsQuant = z.enum(['none', 'q8']);
export type WeightsQuant = z.infer<typeof WeightsQuant>;

export interface QuantizeOptions {
  /** Quantise the output head too (a separate Q8_0 copy when it is the tied embedding). Default true. */
  head?: boolean;
  /** A faster quantiser writing the same bytes (MatmulKernel.quantizeQ8); default the JS one. */
  quantize?: ((w: WeightMatrix) => WeightMatrix) | undefined;
  /** The kernel's faster layout of the Q8_0 blocks (MatmulKernel.packQ8); default none. */
  pack?: ((w: WeightMatrix) => WeightMatrix) | undefined;
}

// Rows [from, from + rows) of a Q8_0 matrix, sharing its bytes (Q8_0x16: whole groups of 16 rows,
// which are contiguous and as long as their rows in Q8_0).
function q8Rows(m: WeightMatrix, from: number, rows: number): WeightMatrix {
  if (m.dtype !== 'Q8_0' && m.dtype !== 'Q8_0x16') throw new TypeError('q8Rows takes a Q8_0 matrix');
  if (m.dtype === 'Q8_0x16' && (from % 16 !== 0 || rows % 16 !== 0)) throw new RangeError(`Q8_0x16 rows split at multiples of 16, not ${from} + ${rows}`);
  const rowBytes = (m.cols / Q8_BLOCK) * Q8_BLOCK_BYTES;
  return { dtype: m.dtype, data: m.data.subarray(from * rowBytes, (from + rows) * rowBytes), rows, cols: m.cols };
}

type Convert = (w: WeightMatrix) => WeightMatrix;

function quantizeLayer(l: LayerWeights, quantize: Convert, pack: Convert): LayerWeights {
  const a = l.q.rows;
  const i = l.gate.rows;
  // A fused matrix is regrouped only when its parts start on whole groups of rows (Motif's do).
  const fused = (m: WeightMatrix, part: number) => (part % 16 === 0 ? pack(quantize(m)) : quantize(m));
  const qkv = fused(l.qkv, a);
  const gateUp = fused(l.gateUp, i);
  return {
    ...l,
    qkv,
    q: q8Rows(qkv, 0, a),
    k: q8Rows(qkv, a, a),
    v: q8Rows(qkv, 2 * a, a),
    o: pack(quantize(l.o)),
    gateUp,
    gate: q8Rows(gateUp, 0, i),
    up: q8Rows(gateUp, i, i),
    down: pack(quantize(l.down)),
  };
}

/**
 * The weights with every linear layer in Q8_0 (see the file comment). Throws RangeError when a
 * matrix's row length is not a multiple of 32 (every Motif dimension is).
 */
export function quantizeWeights(w: MotifWeights, opts: QuantizeOptions = {}): MotifWeights {
  const quantize = opts.quantize ?? quantizeQ8;
  const pack = opts.pack ?? ((m: WeightMatrix) => m);
  return { ...w, head: (opts.head ?? true) ? pack(quantize(w.head)) : w.head, layers: w.layers.map((l) => quantizeLayer(l, quantize, pack)) };
}
