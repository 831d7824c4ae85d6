/**
 * safetensors reading (and writing, for tests and tools), independent of the runtime.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON `{name: {dtype, shape,
 * data_offsets: [begin, end]}, "__metadata__"?: {…}}`, then the data buffer. Offsets are relative
 * to the data buffer and the data may sit in a different order than the header lists it, so only
 * `data_offsets` say where a tensor is. Each tensor is read with its own positional read into its
 * own typed array: a 2.6B BF16 checkpoint is 5.2 GB and must never pass through one Buffer.
 */
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import type { StoredData, StoredDtype } from '../kernels/dtype.ts';

/** A file read by position (the port the Node and in-memory adapters implement). */
export interface RandomAccessFile {
  /** Name used in error messages (e.g. `model-00001-of-00002.safetensors`). */
  readonly name: string;
  readonly size: number;
  /** Fill `dst` with the bytes [position, position + dst.length); rejects on a short file. */
  read(dst: Uint8Array, position: number): Promise<void>;
}

/** Header lengths above this are refused (the reference implementation's own limit). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

export interface TensorInfo {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly file: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
}

/** A tensor in its stored precision plus its shape. */
export type Tensor = StoredData & { shape: readonly number[] };

const Entry = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().min(0)),
  data_offsets: z.tuple([z.number().int().min(0), z.number().int().min(0)]),
});
const Metadata = z.record(z.string(), z.string());

function invalid(file: string, message: string): ApiError {
  return new ApiError('engine_unavailable', `Invalid safetensors file '${file}': ${message}`);
}

/**
 * Validate a header given its JSON bytes and the total file size: known dtypes, byte counts that
 * match the shapes, offsets inside the data buffer, and data ranges that tile the buffer exactly
 * (no overlap, no gap, no trailing bytes). Throws ApiError naming the file and the tensor.
 */
export function parseSafetensorsHeader(json: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const dataStart = 8 + json.length;
  const dataLength = fileSize - dataStart;
  if (dataLength < 0) throw invalid(file, `header of ${json.length} bytes runs past the end of the file (${fileSize} bytes)`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (err) {
    throw invalid(file, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(file, 'header is not a JSON object');

  let metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__metadata__') {
      const m = Metadata.safeParse(value);
      if (!m.success) throw invalid(file, '__metadata__ must map strings to strings');
      metadata = m.data;
      continue;
    }
    const e = Entry.safeParse(value);
    if (!e.success) throw invalid(file, `tensor '${name}' has a malformed entry (${e.error.issues[0]?.message ?? 'invalid'})`);
    const { dtype, shape, data_offsets: [begin, end] } = e.data;
    const size = DTYPE_BYTES[dtype];
    if (size === undefined) throw invalid(file, `tensor '${name}' has unknown dtype '${dtype}'`);
    if (end < begin) throw invalid(file, `tensor '${name}' has data_offsets [${begin}, ${end}] with end before begin`);
    const expected = shape.reduce((a, b) => a * b, 1) * size;
    if (end - begin !== expected) {
      throw invalid(file, `tensor '${name}' (${dtype} [${shape.join(', ')}]) needs ${expected} bytes but data_offsets [${begin}, ${end}] give ${end - begin}`);
    }
    if (end > dataLength) throw invalid(file, `tensor '${name}' data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes)`);
    tensors.set(name, { name, dtype, shape, begin: dataStart + begin, end: dataStart + end });
  }

  // The data ranges must tile the buffer: anything else means a corrupt or hostile file.
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = dataStart;
  let prev: TensorInfo | undefined;
  for (const t of sorted) {
    if (t.begin < cursor) throw invalid(file, `tensor '${t.name}' overlaps tensor '${prev?.name}'`);
    if (t.begin > cursor) throw invalid(file, `gap of ${t.begin - cursor} bytes before tensor '${t.name}'`);
    cursor = t.end;
    prev = t;
  }
  if (cursor !== fileSize) throw invalid(file, `${fileSize - cursor} trailing bytes after the last tensor`);
  return { file, metadata, tensors };
}

/** Read and validate the header of a safetensors file. */
export async function readSafetensorsHeader(file: RandomAccessFile): Promise<SafetensorsHeader> {
  if (file.size < 8) throw invalid(file.name, `truncated: ${file.size} bytes, shorter than the 8-byte header length`);
  const lenBytes = new Uint8Array(8);
  await file.read(lenBytes, 0);
  const len = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (len < 2n || len > BigInt(MAX_HEADER_BYTES)) throw invalid(file.name, `header length ${len} outside [2, ${MAX_HEADER_BYTES}]`);
  const n = Number(len);
  if (8 + n > file.size) throw invalid(file.name, `truncated: header length ${n} runs past the end of the file (${file.size} bytes)`);
  const json = new Uint8Array(n);
  await file.read(json, 8);
  return parseSafetensorsHeader(json, file.size, file.name);
}

function hostIsLittleEndian(): boolean {
  return new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
}

/**
 * Read one tensor into a fresh typed array in its stored precision (F32 → Float32Array,
 * BF16/F16 → Uint16Array of raw bits). Other dtypes are refused with an error naming the tensor.
 */
export async function readTensor(file: RandomAccessFile, info: TensorInfo): Promise<Tensor> {
  if (!hostIsLittleEndian()) throw new ApiError('engine_unavailable', 'safetensors loading needs a little-endian host');
  const dtype = info.dtype;
  if (dtype !== 'F32' && dtype !== 'BF16' && dtype !== 'F16') {
    throw new ApiError('engine_unavailable', `Tensor '${info.name}' in '${file.name}' has dtype ${dtype}; only F32, BF16 and F16 are supported`);
  }
  // A fresh ArrayBuffer per tensor: aligned for its typed array and freed independently.
  const buf = new ArrayBuffer(info.end - info.begin);
  await file.read(new Uint8Array(buf), info.begin);
  if (dtype === 'F32') return { dtype, data: new Float32Array(buf), shape: info.shape };
  return { dtype, data: new Uint16Array(buf), shape: info.shape };
}

/** The in-memory adapter of RandomAccessFile (tests, small checkpoints fetched over the network). */
export function memoryFile(name: string, bytes: Uint8Array): RandomAccessFile {
  return {
    name,
    size: bytes.length,
    async read(dst, position) {
      if (position < 0 || position + dst.length > bytes.length) {
        throw invalid(name, `read of ${dst.length} bytes at ${position} past the end of the file (${bytes.length} bytes)`);
      }
      dst.set(bytes.subarray(position, position + dst.length));
    },
  };
}

export interface EncodeOptions {
  metadata?: Record<string, string>;
  /** Order of the tensors in the data buffer (default: header order); lets tests shuffle it. */
  dataOrder?: readonly string[];
}

/** Serialise tensors (stored precision) to safetensors bytes, header space-padded to 8 bytes. */
export function encodeSafetensors(tensors: Readonly<Record<string, Tensor>>, opts: EncodeOptions = {}): Uint8Array {
  const names = Object.keys(tensors);
  const order = opts.dataOrder ?? names;
  if (order.length !== names.length || !names.every((n) => order.includes(n))) throw new RangeError('dataOrder must list every tensor once');
  const offsets = new Map<string, [number, number]>();
  let cursor = 0;
  for (const name of order) {
    const t = tensors[name]!;
    offsets.set(name, [cursor, cursor + t.data.byteLength]);
    cursor += t.data.byteLength;
  }
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  for (const name of names) {
    const t = tensors[name]!;
    header[name] = { dtype: t.dtype satisfies StoredDtype, shape: t.shape, data_offsets: offsets.get(name) };
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padded - json.length));
  const out = new Uint8Array(8 + json.length + cursor);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  for (const name of order) {
    const t = tensors[name]!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 8 + json.length + offsets.get(name)![0]);
  }
  return out;
}
