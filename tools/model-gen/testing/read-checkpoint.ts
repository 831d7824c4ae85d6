/**
 * A deliberately small, independent safetensors reader for the generator's own tests: it checks
 * the file layout strictly (header length, padding, contiguous offsets, file size) and decodes
 * every tensor to float64 values. Not the engine's loader — a second implementation, so the
 * writer is not only checked against itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bf16ToNumber, f16ToNumber, f32FromBits, type StorageDtype } from '../dtype.ts';

export interface ReadTensor {
  dtype: StorageDtype;
  shape: number[];
  /** Raw little-endian bits per element (32-bit for F32, 16-bit otherwise). */
  bits: Uint32Array;
  values: Float64Array;
  file: string;
}

interface HeaderEntry {
  dtype: StorageDtype;
  shape: number[];
  data_offsets: [number, number];
}

/** Read one safetensors file; throws on any layout violation. */
export function readSafetensorsFile(path: string, file = path): { metadata: unknown; tensors: Map<string, ReadTensor> } {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  if (n % 8 !== 0) throw new Error(`${file}: header length ${n} is not a multiple of 8`);
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, HeaderEntry> & { __metadata__?: unknown };
  const { __metadata__: metadata, ...entries } = header;
  const data = buf.subarray(8 + n);
  const spans = Object.values(entries)
    .map((e) => e.data_offsets)
    .sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [b, e] of spans) {
    if (b !== at) throw new Error(`${file}: hole or overlap at byte ${at}`);
    at = e;
  }
  if (at !== data.length) throw new Error(`${file}: data section is ${data.length} bytes, offsets cover ${at}`);

  const tensors = new Map<string, ReadTensor>();
  for (const [name, e] of Object.entries(entries)) {
    const width = e.dtype === 'F32' ? 4 : 2;
    const count = e.shape.reduce((a, d) => a * d, 1);
    const [b, end] = e.data_offsets;
    if (end - b !== count * width) throw new Error(`${file}: ${name} has ${end - b} bytes for ${count} ${e.dtype} elements`);
    const bits = new Uint32Array(count);
    const values = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const o = b + i * width;
      const v = width === 4 ? data.readUInt32LE(o) : data.readUInt16LE(o);
      bits[i] = v;
      values[i] = e.dtype === 'F32' ? f32FromBits(v) : e.dtype === 'BF16' ? bf16ToNumber(v) : f16ToNumber(v);
    }
    tensors.set(name, { dtype: e.dtype, shape: e.shape, bits, values, file });
  }
  return { metadata, tensors };
}

/** Read every tensor of a model dir (single file or sharded via the index); checks the index. */
export function readCheckpoint(dir: string): Map<string, ReadTensor> {
  let files = ['model.safetensors'];
  let index: { metadata: { total_size: number }; weight_map: Record<string, string> } | null = null;
  try {
    index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    files = [...new Set(Object.values(index!.weight_map))].sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const all = new Map<string, ReadTensor>();
  let total = 0;
  for (const f of files) {
    const { metadata, tensors } = readSafetensorsFile(join(dir, f), f);
    if (JSON.stringify(metadata) !== '{"format":"pt"}') throw new Error(`${f}: unexpected __metadata__ ${JSON.stringify(metadata)}`);
    for (const [name, t] of tensors) {
      if (all.has(name)) throw new Error(`${name} appears in two files`);
      if (index && index.weight_map[name] !== f) throw new Error(`index maps ${name} to ${index.weight_map[name]}, found in ${f}`);
      total += t.bits.length * (t.dtype === 'F32' ? 4 : 2);
      all.set(name, t);
    }
  }
  if (index && (index.metadata.total_size !== total || Object.keys(index.weight_map).length !== all.size)) throw new Error('index does not match the shards');
  return all;
}
