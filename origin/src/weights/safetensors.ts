/**
 * safetensors header validation (pure): the checks a synced or published file must pass before a
 * loader ever sees it. Layout: 8-byte little-endian header length N, N bytes of JSON, then the
 * tensor data. We require a sane N, a JSON object of tensors with known dtypes, byte sizes that
 * match dtype × shape, data offsets that tile the data section with no gap or overlap, and a file
 * size that is exactly 8 + N + data.
 */
import { ApiError } from '#shared/errors.ts';

/** Bytes per element of each safetensors dtype. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
};

/** Headers are a few KiB to a few MiB; anything bigger is a corrupt length field. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  headerLength: number;
  tensors: TensorEntry[];
  metadata: Record<string, string>;
}

/** The header length from the first 8 bytes, checked against the file size. */
export function headerLength(first8: Uint8Array, fileSize: number, name: string): number {
  if (first8.length < 8 || fileSize < 8) throw invalid(name, `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n || n > BigInt(MAX_HEADER_BYTES)) throw invalid(name, `header length ${n} is outside 2..${MAX_HEADER_BYTES}`);
  if (8n + n > BigInt(fileSize)) throw invalid(name, `header length ${n} runs past the end of the ${fileSize}-byte file`);
  return Number(n);
}

/**
 * Parse and validate a header (the N JSON bytes after the length) for a file of `fileSize` bytes.
 * Throws ApiError `unprocessable_entity` naming the file and the first problem found.
 */
export function validateHeader(json: Uint8Array, fileSize: number, name: string): SafetensorsHeader {
  const n = json.length;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (err) {
    throw invalid(name, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(name, 'header is not a JSON object');
  const tensors: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (key === '__metadata__') {
      metadata = checkMetadata(value, name);
      continue;
    }
    tensors.push(checkTensor(key, value, name));
  }
  const dataSize = fileSize - 8 - n;
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of tensors) {
    if (t.begin !== cursor) {
      throw invalid(name, `tensor '${t.name}' starts at ${t.begin} but the previous data ends at ${cursor} (${t.begin > cursor ? 'gap' : 'overlap'})`);
    }
    cursor = t.end;
  }
  if (cursor !== dataSize) throw invalid(name, `tensor data ends at ${cursor} but the file holds ${dataSize} data bytes (size ${fileSize})`);
  return { headerLength: n, tensors, metadata };
}

function checkMetadata(value: unknown, name: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(name, '__metadata__ is not an object');
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalid(name, `__metadata__.${k} is not a string`);
  }
  return value as Record<string, string>;
}

function checkTensor(key: string, value: unknown, name: string): TensorEntry {
  const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (typeof v !== 'object' || v === null) throw invalid(name, `tensor '${key}' is not an object`);
  const width = typeof v.dtype === 'string' ? DTYPE_BYTES[v.dtype] : undefined;
  if (width === undefined) throw invalid(name, `tensor '${key}' has unknown dtype ${JSON.stringify(v.dtype)}`);
  if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(name, `tensor '${key}' has an invalid shape ${JSON.stringify(v.shape)}`);
  }
  const offs = v.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[1] < offs[0]) {
    throw invalid(name, `tensor '${key}' has invalid data_offsets ${JSON.stringify(offs)}`);
  }
  const shape = v.shape as number[];
  const numel = shape.reduce((a, d) => a * d, 1);
  const [begin, end] = offs as [number, number];
  if (end - begin !== numel * width) {
    throw invalid(name, `tensor '${key}' spans ${end - begin} bytes but ${v.dtype}${JSON.stringify(shape)} needs ${numel * width}`);
  }
  return { name: key, dtype: v.dtype as string, shape, begin, end };
}

function invalid(name: string, why: string): ApiError {
  return new ApiError('unprocessable_entity', `Malformed safetensors file ${name}: ${why}`);
}
