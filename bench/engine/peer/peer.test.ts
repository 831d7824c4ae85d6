import { describe, expect, it } from 'vitest';
import { comparisonRows, PEER_WORKLOADS, runAlternating } from './compare.ts';
import { GGUF_ALIGNMENT, ggufHeader, tensorBytes, tensorLayout } from './gguf.ts';
import { llamaMetadata, llamaTensors } from './llama-gguf.ts';

const dims = { hidden: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 10, ropeTheta: 10_000, rmsEps: 1e-6, contextLength: 256 };

describe('GGUF header', () => {
  it('starts with the magic and version 3, counts tensors and keys, and pads to the alignment', () => {
    const tensors = llamaTensors(dims);
    const meta = llamaMetadata(
      dims,
      { model: { vocab: { a: 0, b: 1 }, merges: [['a', 'b']] }, added_tokens: [{ id: 9, content: '<|end|>' }] },
      { bos: 9, eos: 9 },
    );
    const h = ggufHeader(meta, tensors);
    expect(h.subarray(0, 4).toString('ascii')).toBe('GGUF');
    expect(h.readUInt32LE(4)).toBe(3);
    expect(Number(h.readBigUInt64LE(8))).toBe(tensors.length);
    expect(Number(h.readBigUInt64LE(16))).toBe(meta.size);
    expect(h.length % GGUF_ALIGNMENT).toBe(0);
    // The first key, as GGUF strings are: u64 length, then bytes.
    expect(Number(h.readBigUInt64LE(24))).toBe('general.architecture'.length);
    expect(h.subarray(32, 32 + 20).toString()).toBe('general.architecture');
  });

  it('lays tensors out aligned, a llama with tied embeddings and grouped KV heads', () => {
    const tensors = llamaTensors(dims);
    expect(tensors).toHaveLength(1 + 9 * dims.layers + 1);
    expect(tensors.find((t) => t.name === 'blk.0.attn_k.weight')?.dims).toEqual([64, 32]);
    expect(tensors.some((t) => t.name === 'output.weight')).toBe(false);
    expect(llamaTensors(dims, 'q8_0').find((t) => t.name === 'blk.0.ffn_down.weight')?.type).toBe('q8_0');
    expect(tensorBytes({ name: 'q', dims: [64, 3], type: 'q8_0' })).toBe(2 * 3 * 34);
    expect(() => tensorBytes({ name: 'q', dims: [48, 3], type: 'q8_0' })).toThrow(/multiple of 32/);
    const { offsets, dataBytes } = tensorLayout(tensors);
    for (const o of offsets) expect(o % GGUF_ALIGNMENT).toBe(0);
    expect(dataBytes).toBeGreaterThan(offsets.at(-1)!);
  });
});

describe('peer comparison', () => {
  it('alternates which engine goes first and reports ratios per round and of the medians', async () => {
    const order: string[] = [];
    const engine = (name: string, tokensPerSecond: number) => async () => {
      order.push(name);
      return tokensPerSecond;
    };
    const [ours, peer] = [engine('ours', 20), engine('peer', 10)];
    const results = await runAlternating(ours, peer, PEER_WORKLOADS.slice(0, 1), 2);
    expect(order).toEqual(['ours', 'peer', 'peer', 'ours']);
    const rows = comparisonRows(results);
    expect(rows[1]).toEqual([PEER_WORKLOADS[0]!.name, '20.0', '10.0', '2.00×', '2.00× 2.00×']);
  });
});
