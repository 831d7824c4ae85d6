/**
 * Reading safetensors files into the engine's tensors (and writing them, for tests and tools),
 * independent of the runtime. The format itself (header parsing, validation, limits) is
 * formats/safetensors.ts; this module reads through the `RandomAccessFile` port. Each tensor is
 * read with its own positional read into its own typed array: a 2.6B BF16 checkpoint is 5.2 GB
 * and must never pass through one Buffer.
 */
import { ApiError } from '#shared/errors.ts';
import { buildHeader, headerLengthField, headerLengthOf, parseHeader, SafetensorsFormatError } from '../../../formats/safetensors.ts';
import type { StoredData, StoredDtype } from '../kernels/dtype.ts';

/** A file read by position (the port the Node and in-memory adapters implement). */
export interface RandomAccessFile {
  /** Name used in error messages (e.g. `model-00001-of-00002.safetensors`). */
  readonly name: string;
  readonly size: number;
  /** Fill `dst` with the bytes [position, position + dst.length); rejects on a short file. */
  read(dst: Uint8Array, position: number): Promise<void>;
}

export { MAX_HEADER_BYTES } from '../../../formats/safetensors.ts';

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

function invalid(file: string, message: string): ApiError {
  return new ApiError('engine_unavailable', `Invalid safetensors file '${file}': ${message}`);
}

/**
 * Validate a header given its JSON bytes and the total file size (formats/safetensors.ts says
 * what is checked). Throws ApiError naming the file and the tensor.
 */
export function parseSafetensorsHeader(json: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const dataStart = 8 + json.length;
  const { metadata, tensors } = named(file, () => parseHeader(json, fileSize));
  const byName = new Map<string, TensorInfo>();
  for (const t of tensors) byName.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, begin: dataStart + t.begin, end: dataStart + t.end });
  return { file, metadata, tensors: byName };
}

/** Read and validate the header of a safetensors file. */
export async function readSafetensorsHeader(file: RandomAccessFile): Promise<SafetensorsHeader> {
  const lenBytes = new Uint8Array(Math.min(8, file.size));
  if (file.size >= 8) await file.read(lenBytes, 0);
  const n = named(file.name, () => headerLengthOf(lenBytes, file.size));
  const json = new Uint8Array(n);
  await file.read(json, 8);
  return parseSafetensorsHeader(json, file.size, file.name);
}

// A format error names the file and fails the load.
function named<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SafetensorsFormatError) throw invalid(file, err.message);
    throw err;
  }
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
  const json = buildHeader(
    names.map((name) => {
      const t = tensors[name]!;
      const [begin, end] = offsets.get(name)!;
      return { name, dtype: t.dtype satisfies StoredDtype, shape: t.shape, begin, end };
    }),
    opts.metadata,
  );
  const out = new Uint8Array(8 + json.length + cursor);
  out.set(headerLengthField(json.length), 0);
  out.set(json, 8);
  for (const name of order) {
    const t = tensors[name]!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 8 + json.length + offsets.get(name)![0]);
  }
  return out;
}
