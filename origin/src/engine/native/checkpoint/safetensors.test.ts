import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { f32ArrayToBf16, f32ArrayToF16 } from '../kernels/dtype.ts';
import type { Tensor } from './safetensors.ts';
import { encodeSafetensors, memoryFile, readSafetensorsHeader, readTensor } from './safetensors.ts';

const f32 = Float32Array.of(1.5, -2, 0.25, 3, 4, 5);
const tensors: Record<string, Tensor> = {
  a: { dtype: 'F32', data: f32, shape: [2, 3] },
  b: { dtype: 'BF16', data: f32ArrayToBf16(Float32Array.of(1, 2)), shape: [2] },
  c: { dtype: 'F16', data: f32ArrayToF16(Float32Array.of(0.5)), shape: [1, 1] },
};

// A safetensors file with a hand-written header (data = `dataBytes` zero bytes).
function withHeader(header: unknown, dataBytes: number, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

async function headerError(bytes: Uint8Array): Promise<string> {
  const err = await readSafetensorsHeader(memoryFile('x.safetensors', bytes)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).message).toMatch(/x\.safetensors/);
  return (err as ApiError).message;
}

describe('safetensors', () => {
  it('round-trips tensors stored in a different order than the header', async () => {
    const bytes = encodeSafetensors(tensors, { metadata: { format: 'pt' }, dataOrder: ['c', 'a', 'b'] });
    expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0);
    const file = memoryFile('m.safetensors', bytes);
    const h = await readSafetensorsHeader(file);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect([...h.tensors.keys()]).toEqual(['a', 'b', 'c']);
    expect(h.tensors.get('c')!.begin).toBeLessThan(h.tensors.get('a')!.begin);
    const a = await readTensor(file, h.tensors.get('a')!);
    expect(a.dtype).toBe('F32');
    expect([...a.data]).toEqual([...f32]);
    const b = await readTensor(file, h.tensors.get('b')!);
    expect(b.data).toBeInstanceOf(Uint16Array);
    expect([...b.data]).toEqual([0x3f80, 0x4000]);
    const c = await readTensor(file, h.tensors.get('c')!);
    expect([...c.data]).toEqual([0x3800]);
    expect(c.shape).toEqual([1, 1]);
  });

  it('reads into separate buffers, one per tensor', async () => {
    const file = memoryFile('m', encodeSafetensors(tensors));
    const h = await readSafetensorsHeader(file);
    const a = await readTensor(file, h.tensors.get('a')!);
    const b = await readTensor(file, h.tensors.get('b')!);
    expect(a.data.buffer).not.toBe(b.data.buffer);
    expect(a.data.buffer.byteLength).toBe(24);
  });

  it.each([
    ['a file shorter than 8 bytes', new Uint8Array(5), /shorter than the 8-byte/],
    ['a header length past the end', withHeader({}, 0, 1000n), /runs past the end/],
    ['a huge header length', withHeader({}, 0, 1n << 40n), /header length/],
    [
      'a header that is not JSON',
      (() => {
        const b = withHeader({}, 0);
        b[8] = 0x5b;
        return b;
      })(),
      /not valid UTF-8 JSON/,
    ],
    ['a header that is an array', withHeader([1], 0), /not a JSON object/],
  ])('rejects %s', async (_name, bytes, message) => {
    expect(await headerError(bytes)).toMatch(message);
  });

  it.each([
    [
      'overlapping offsets',
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
      12,
      /'b' overlaps tensor 'a'/,
    ],
    ['a byte count that does not match the shape', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8, /'a'.*needs 12 bytes/],
    ['offsets past the end of the data', { a: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 8, /'a'.*run past the end/],
    ['a gap between tensors', { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8, /gap of 4 bytes before tensor 'a'/],
    ['trailing bytes', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8, /4 trailing bytes/],
    ['an unknown dtype', { a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1, /'a' has unknown dtype 'Q4'/],
    ['end before begin', { a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, 4, /end before begin/],
    ['a malformed entry', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4, /'a' has a malformed entry/],
    ['bad metadata', { __metadata__: { n: 1 } }, 0, /__metadata__/],
  ])('rejects %s, naming the tensor', async (_name, header, dataBytes, message) => {
    expect(await headerError(withHeader(header, dataBytes))).toMatch(message);
  });

  it('refuses to read dtypes the engine cannot use, naming the tensor', async () => {
    const file = memoryFile('m', withHeader({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8));
    const h = await readSafetensorsHeader(file);
    await expect(readTensor(file, h.tensors.get('ids')!)).rejects.toThrow(/'ids'.*I64/);
  });
});
