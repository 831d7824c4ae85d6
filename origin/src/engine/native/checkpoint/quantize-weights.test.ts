import { beforeAll, describe, expect, it } from 'vitest';
import { loadTinyMotif } from '../../../adapters/node/engine/test-checkpoint.ts';
import { Q8_BLOCK_BYTES, type WeightMatrix } from '../kernels/dtype.ts';
import { quantizeQ8 } from '../kernels/q8.ts';
import type { MotifConfig } from './config.ts';
import { quantizeWeights, WeightsQuant } from './quantize-weights.ts';
import { checkWeights, type MotifWeights } from './weights.ts';

let config: MotifConfig;
let weights: MotifWeights;
beforeAll(async () => {
  ({ config, weights } = await loadTinyMotif());
});

const bytesOf = (m: WeightMatrix) => new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength);

describe('quantizeWeights', () => {
  it('turns the linear layers and the head into Q8_0, and keeps the embedding and vectors', () => {
    const q = quantizeWeights(weights);
    for (const l of q.layers) for (const m of [l.qkv, l.o, l.gateUp, l.down, l.q, l.k, l.v, l.gate, l.up]) expect(m.dtype).toBe('Q8_0');
    expect(q.head.dtype).toBe('Q8_0');
    expect(q.embed).toBe(weights.embed);
    expect(q.norm).toBe(weights.norm);
    expect(q.layers[0]!.inputNorm).toBe(weights.layers[0]!.inputNorm);
    expect(() => checkWeights(config, q)).not.toThrow();
  });

  it('makes q/k/v and gate/up row views of the fused Q8_0 matrices', () => {
    const l = quantizeWeights(weights).layers[1]!;
    const rowBytes = (config.hidden_size / 32) * Q8_BLOCK_BYTES;
    expect(l.k.data.buffer).toBe(l.qkv.data.buffer);
    expect(l.k.data.byteOffset - l.qkv.data.byteOffset).toBe(l.q.rows * rowBytes);
    expect(bytesOf(l.k)).toEqual(bytesOf(quantizeQ8(weights.layers[1]!.k)));
    expect(bytesOf(l.up)).toEqual(bytesOf(quantizeQ8(weights.layers[1]!.up)));
  });

  it('can leave the head alone and take another quantiser', () => {
    const seen: number[] = [];
    const q = quantizeWeights(weights, {
      head: false,
      quantize: (m) => {
        seen.push(m.rows);
        return quantizeQ8(m);
      },
    });
    expect(q.head).toBe(weights.head);
    expect(seen).toHaveLength(4 * config.num_hidden_layers);
  });

  it("hands every Q8_0 matrix to the kernel's packer and splits fused ones on whole groups", () => {
    // A stand-in packer: the same bytes under the native layout's name.
    const pack = (m: WeightMatrix): WeightMatrix => (m.dtype === 'Q8_0' ? { ...m, dtype: 'Q8_0x16' } : m);
    const q = quantizeWeights(weights, { pack });
    expect(q.head.dtype).toBe('Q8_0x16');
    const l = q.layers[0]!;
    for (const m of [l.qkv, l.o, l.gateUp, l.down, l.q, l.k, l.v, l.gate, l.up]) expect(m.dtype).toBe('Q8_0x16');
    const rowBytes = (config.hidden_size / 32) * Q8_BLOCK_BYTES;
    expect(l.v.data.byteOffset - l.qkv.data.byteOffset).toBe(2 * l.q.rows * rowBytes);
    expect(bytesOf(l.v)).toEqual(bytesOf(quantizeQ8(weights.layers[0]!.v)));
  });

  it('keeps a fused matrix in Q8_0 when its parts do not start on groups of 16 rows', () => {
    const odd = (m: WeightMatrix, rows: number): WeightMatrix => ({ ...m, rows });
    const l0 = weights.layers[0]!;
    // q/k/v of 8 rows each: a split inside a group of 16.
    const layer = { ...l0, q: odd(l0.q, 8), k: odd(l0.k, 8), v: odd(l0.v, 8), qkv: { ...l0.qkv, rows: 24 } } as typeof l0;
    const pack = (m: WeightMatrix): WeightMatrix => (m.dtype === 'Q8_0' ? { ...m, dtype: 'Q8_0x16' } : m);
    const q = quantizeWeights({ ...weights, layers: [layer] }, { pack });
    expect(q.layers[0]!.qkv.dtype).toBe('Q8_0');
    expect(q.layers[0]!.o.dtype).toBe('Q8_0x16');
  });

  it('names the modes it accepts', () => {
    expect(WeightsQuant.options).toEqual(['none', 'q8']);
    expect(WeightsQuant.safeParse('q4').success).toBe(false);
  });
});
