import { describe, expect, it } from 'vitest';
import { encodeValue, type StorageDtype } from './dtype.ts';
import { buildNormalTable } from './normal-table.ts';
import { fillU32, streamState } from './prng.ts';
import { memorySink, planSafetensors, type TensorSpec, writeSafetensors } from './safetensors-writer.ts';
import { createTensorFiller } from './tensor-fill.ts';
import type { InitSpec } from './tensor-plan.ts';

const normals = buildNormalTable();

/** Tensor data bytes as produced by the filler (header stripped). */
async function generate(spec: TensorSpec, init: InitSpec, chunkBytes?: number, seed = 9): Promise<Uint8Array> {
  const plan = planSafetensors([spec]);
  const sink = memorySink();
  const fill = createTensorFiller({ seed, normals, inits: new Map([[spec.name, init]]), ...(chunkBytes ? { chunkBytes } : {}) });
  await writeSafetensors(sink, plan, fill);
  return sink.bytes().subarray(8 + plan.header.length);
}

/** The documented layout, computed the slow way: element 2i ← low half of word i, 2i+1 ← high half. */
function expectedBytes(spec: TensorSpec, init: InitSpec, seed = 9): Uint8Array {
  const n = spec.shape.reduce((a, d) => a * d, 1);
  const words = new Uint32Array(Math.ceil(n / 2));
  fillU32(streamState(seed, spec.name), words);
  const width = spec.dtype === 'F32' ? 4 : 2;
  const out = new DataView(new ArrayBuffer(n * width));
  for (let i = 0; i < n; i++) {
    const q = normals[(words[i >> 1]! >>> (16 * (i & 1))) & 0xffff]!;
    const mean = typeof init.mean === 'number' ? init.mean : init.mean[i % init.mean.length]!;
    const bits = encodeValue(spec.dtype, mean + init.std * q);
    if (width === 4) out.setUint32(i * 4, bits, true);
    else out.setUint16(i * 2, bits, true);
  }
  return new Uint8Array(out.buffer);
}

describe('createTensorFiller', () => {
  it.each<[StorageDtype, number[]]>([
    ['F32', [5, 7]],
    ['BF16', [33, 3]],
    ['F16', [1, 99]],
  ])('%s %j: bytes follow the documented stream layout', async (dtype, shape) => {
    const spec = { name: `t.${dtype}`, dtype, shape };
    const init = { mean: 0.25, std: 0.5 };
    expect(await generate(spec, init)).toEqual(expectedBytes(spec, init));
  });

  it('per-element means (PolyNorm) follow the same layout', async () => {
    const spec: TensorSpec = { name: 'act_fn.weight', dtype: 'BF16', shape: [3] };
    const init = { mean: [0.3, 0.3, 0.4], std: 0.02 };
    expect(await generate(spec, init)).toEqual(expectedBytes(spec, init));
  });

  it('output does not depend on the chunk size (odd element counts included)', async () => {
    for (const dtype of ['F32', 'BF16'] as const) {
      const spec = { name: 'chunky', dtype, shape: [1001] };
      const init = { mean: 0, std: 1 };
      const ref = await generate(spec, init);
      for (const chunk of [8, 24, 4096]) expect(await generate(spec, init, chunk)).toEqual(ref);
      expect(await generate({ ...spec, shape: [1001] }, { mean: [0], std: 1 }, 16)).toEqual(ref);
    }
  });

  it('depends on seed and tensor name', async () => {
    const init = { mean: 0, std: 1 };
    const a = await generate({ name: 'x', dtype: 'BF16', shape: [64] }, init);
    expect(await generate({ name: 'y', dtype: 'BF16', shape: [64] }, init)).not.toEqual(a);
    expect(await generate({ name: 'x', dtype: 'BF16', shape: [64] }, init, undefined, 10)).not.toEqual(a);
  });

  it('rejects bad options and tensors without an init', async () => {
    expect(() => createTensorFiller({ seed: 0, normals, inits: new Map(), chunkBytes: 12 })).toThrow(RangeError);
    expect(() => createTensorFiller({ seed: 0, normals: new Float64Array(10), inits: new Map() })).toThrow(RangeError);
    const fill = createTensorFiller({ seed: 0, normals, inits: new Map() });
    await expect(writeSafetensors(memorySink(), planSafetensors([{ name: 'z', dtype: 'F32', shape: [2] }]), fill)).rejects.toThrow(/no init for tensor z/);
  });
});
