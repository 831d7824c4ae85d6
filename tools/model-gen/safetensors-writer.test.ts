import { describe, expect, it } from 'vitest';
import { buildShardIndex, shardCountFor, splitIntoShards, tensorBytes } from './safetensors-shards.ts';
import { memorySink, planSafetensors, type TensorSpec, writeSafetensors } from './safetensors-writer.ts';

/** Minimal independent reader: header length, JSON header, data section. */
function parse(bytes: Uint8Array) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  return { n, headerText, header: JSON.parse(headerText) as Record<string, any>, data: bytes.subarray(8 + n) };
}

const SPECS: TensorSpec[] = [
  { name: 'a.weight', dtype: 'F32', shape: [2, 3] },
  { name: 'b.bias', dtype: 'BF16', shape: [3] },
  { name: 'scalar', dtype: 'F16', shape: [] },
  { name: 'empty', dtype: 'F32', shape: [0, 4] },
];

describe('planSafetensors / writeSafetensors', () => {
  it('writes a header padded to 8 bytes with metadata and contiguous offsets, then the data', async () => {
    const plan = planSafetensors(SPECS);
    const sink = memorySink();
    await writeSafetensors(sink, plan, async (t, out) => {
      // Each byte says which tensor it belongs to and where: easy to check placement.
      const b = new Uint8Array(t.byteLength).map((_, i) => (t.begin + i) & 0xff);
      if (b.length > 0) await out.write(b.subarray(0, 1));
      if (b.length > 1) await out.write(b.subarray(1));
    });
    const bytes = sink.bytes();
    const { n, headerText, header, data } = parse(bytes);
    expect(n % 8).toBe(0);
    expect(headerText.trimEnd().length).toBeLessThanOrEqual(n);
    expect(/^ *$/.test(headerText.slice(headerText.trimEnd().length))).toBe(true);
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header['a.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header['b.bias']).toEqual({ dtype: 'BF16', shape: [3], data_offsets: [24, 30] });
    expect(header.scalar).toEqual({ dtype: 'F16', shape: [], data_offsets: [30, 32] });
    expect(header.empty).toEqual({ dtype: 'F32', shape: [0, 4], data_offsets: [32, 32] });
    expect(data.length).toBe(32);
    expect(bytes.length).toBe(plan.totalBytes);
    expect([...data]).toEqual(Array.from({ length: 32 }, (_, i) => i));
  });

  it('fails when a filler writes the wrong number of bytes, and still closes the sink', async () => {
    let closed = false;
    const sink = { write: async () => {}, close: async () => void (closed = true) };
    const plan = planSafetensors([{ name: 'x', dtype: 'F32', shape: [4] }]);
    await expect(writeSafetensors(sink, plan, async (_t, out) => out.write(new Uint8Array(15)))).rejects.toThrow(/wrote 15 bytes, expected 16/);
    expect(closed).toBe(true);
  });

  it('surfaces a sink write error', async () => {
    const sink = { write: async () => Promise.reject(new Error('disk full')), close: async () => {} };
    await expect(writeSafetensors(sink, planSafetensors(SPECS), async (t, out) => out.write(new Uint8Array(t.byteLength)))).rejects.toThrow('disk full');
  });

  it.each([
    ['duplicate names', [SPECS[0]!, SPECS[0]!]],
    ['the reserved metadata key', [{ name: '__metadata__', dtype: 'F32', shape: [1] }]],
    ['an empty name', [{ name: '', dtype: 'F32', shape: [1] }]],
    ['a negative dimension', [{ name: 'x', dtype: 'F32', shape: [-1] }]],
    ['a fractional dimension', [{ name: 'x', dtype: 'F32', shape: [1.5] }]],
  ] as [string, TensorSpec[]][])('rejects %s', (_name, specs) => {
    expect(() => planSafetensors(specs)).toThrow(RangeError);
  });
});

describe('sharding', () => {
  const tensors: TensorSpec[] = [100, 10, 10, 50, 50, 10, 100, 5].map((n, i) => ({ name: `t${i}`, dtype: 'F32', shape: [n] }));

  it.each([1, 2, 3, 5, 8])('splits into exactly %i contiguous non-empty shards', (count) => {
    const shards = splitIntoShards(tensors, count);
    expect(shards).toHaveLength(count);
    expect(shards.flatMap((s) => s.tensors.map((t) => t.name))).toEqual(tensors.map((t) => t.name));
    for (const s of shards) expect(s.tensors.length).toBeGreaterThan(0);
    expect(shards.map((s) => s.file)).toEqual(
      count === 1 ? ['model.safetensors'] : shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`),
    );
  });

  it('balances shards to within one tensor of the ideal size', () => {
    const total = tensors.reduce((n, t) => n + tensorBytes(t), 0);
    const biggest = Math.max(...tensors.map(tensorBytes));
    for (const s of splitIntoShards(tensors, 3)) expect(Math.abs(s.dataBytes - total / 3)).toBeLessThanOrEqual(biggest);
  });

  it('picks the smallest shard count that respects a size limit', () => {
    const n = shardCountFor(tensors, 600);
    expect(splitIntoShards(tensors, n).every((s) => s.dataBytes <= 600)).toBe(true);
    expect(n === 1 || splitIntoShards(tensors, n - 1).some((s) => s.dataBytes > 600)).toBe(true);
  });

  it('rejects more shards than tensors', () => {
    expect(() => splitIntoShards(tensors, 9)).toThrow(RangeError);
    expect(() => splitIntoShards(tensors, 0)).toThrow(RangeError);
  });

  it('builds an index with a sorted weight_map and total tensor bytes', () => {
    const shards = splitIntoShards(tensors, 2);
    const index = buildShardIndex(shards);
    expect(index.metadata.total_size).toBe(335 * 4);
    expect(Object.keys(index.weight_map)).toEqual(tensors.map((t) => t.name).sort());
    for (const s of shards) for (const t of s.tensors) expect(index.weight_map[t.name]).toBe(s.file);
  });
});
