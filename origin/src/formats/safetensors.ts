/**
 * The safetensors format, pure: the header's length field, its parsing and validation, and
 * building one. Every reader and writer in the repository goes through this module, so the engine's
 * loader, the weights store's verification and the model generator agree on one format and one
 * set of limits. Errors are `SafetensorsFormatError`s saying what is wrong; each caller names the
 * file and picks its own error code.
 *
 * Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON `{name: {dtype, shape,
 * data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then the data buffer. Offsets
 * are relative to the data buffer and the data may sit in a different order than the header lists
 * it; the data ranges must tile the buffer exactly (no gap, no overlap, no trailing bytes).
 */

/** Bytes per element of each safetensors dtype. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E8M0: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
};

/** Header lengths above this are refused: headers are KiB to a few MiB (the reference implementation's own limit). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** What is wrong with a file, without naming it (the caller does). */
export class SafetensorsFormatError extends Error {
  override readonly name = 'SafetensorsFormatError';
}

/** One tensor as the header lists it; offsets relative to the data buffer. */
export interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface ParsedHeader {
  metadata: Record<string, string>;
  /** In header order. */
  tensors: HeaderEntry[];
}

const fail = (why: string): never => {
  throw new SafetensorsFormatError(why);
};

/** The header length from the first 8 bytes (fewer when the file is shorter), checked against the file size. */
export function headerLengthOf(first8: Uint8Array, fileSize: number): number {
  if (first8.length < 8 || fileSize < 8) fail(`file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n || n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} is outside [2, ${MAX_HEADER_BYTES}]`);
  if (8n + n > BigInt(fileSize)) fail(`header length ${n} runs past the end of the file (${fileSize} bytes)`);
  return Number(n);
}

/** Parse and validate the N JSON bytes after the length field of a file of `fileSize` bytes. */
export function parseHeader(json: Uint8Array, fileSize: number): ParsedHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('header is not a JSON object');
  const dataLength = fileSize - 8 - json.length;
  let metadata: Record<string, string> = {};
  const tensors: HeaderEntry[] = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === '__metadata__') metadata = checkMetadata(value);
    else tensors.push(checkTensor(key, value, dataLength));
  }
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: HeaderEntry | undefined;
  for (const t of sorted) {
    if (t.begin < cursor) fail(`tensor '${t.name}' overlaps tensor '${prev?.name}'`);
    if (t.begin > cursor) fail(`gap of ${t.begin - cursor} bytes before tensor '${t.name}'`);
    cursor = t.end;
    prev = t;
  }
  if (cursor !== dataLength)
    fail(`${dataLength - cursor} trailing bytes after the last tensor: tensor data ends at ${cursor} but the file holds ${dataLength} data bytes`);
  return { metadata, tensors };
}

function checkMetadata(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('__metadata__ is not an object');
  for (const [k, v] of Object.entries(value as object)) {
    if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
  }
  return value as Record<string, string>;
}

function checkTensor(name: string, value: unknown, dataLength: number): HeaderEntry {
  const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`tensor '${name}' has a malformed entry (not an object)`);
  if (typeof v!.dtype !== 'string') fail(`tensor '${name}' has a malformed entry (dtype ${JSON.stringify(v!.dtype)})`);
  const dtype = v!.dtype as string;
  const width = DTYPE_BYTES[dtype];
  if (width === undefined) fail(`tensor '${name}' has unknown dtype '${dtype}'`);
  if (!Array.isArray(v!.shape) || !v!.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor '${name}' has a malformed entry (invalid shape ${JSON.stringify(v!.shape)})`);
  }
  const offs = v!.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`tensor '${name}' has a malformed entry (invalid data_offsets ${JSON.stringify(offs)})`);
  }
  const shape = v!.shape as number[];
  const [begin, end] = offs as [number, number];
  if (end < begin) fail(`tensor '${name}' has invalid data_offsets [${begin}, ${end}] with end before begin`);
  const expected = shape.reduce((a, d) => a * d, 1) * width!;
  if (end - begin !== expected)
    fail(`tensor '${name}' (${dtype} [${shape.join(', ')}]) needs ${expected} bytes but data_offsets [${begin}, ${end}] give ${end - begin}`);
  if (end > dataLength) fail(`tensor '${name}' data_offsets [${begin}, ${end}] run past the end of the data: the file holds ${dataLength} data bytes`);
  return { name, dtype, shape, begin, end };
}

/**
 * The header bytes for `tensors` (header order; offsets relative to the data buffer), with
 * `metadata` first when given, space-padded (valid JSON whitespace) so the data starts 8-byte aligned.
 */
export function buildHeader(
  tensors: readonly { name: string; dtype: string; shape: readonly number[]; begin: number; end: number }[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  for (const t of tensors) header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [t.begin, t.end] };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  padded.set(json);
  return padded;
}

/** The 8-byte length field for a header of `n` bytes. */
export function headerLengthField(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}
