/**
 * safetensors header validation (pure): the checks a synced or published file must pass before a
 * loader ever sees it (formats/safetensors.ts holds the format and its checks). A malformed file
 * fails with ApiError `unprocessable_entity` naming it.
 */
import { ApiError } from '#shared/errors.ts';
import { type HeaderEntry, headerLengthOf, parseHeader, SafetensorsFormatError } from '../formats/safetensors.ts';

export { DTYPE_BYTES, MAX_HEADER_BYTES } from '../formats/safetensors.ts';

export type TensorEntry = HeaderEntry;

export interface SafetensorsHeader {
  headerLength: number;
  /** Sorted by data offset. */
  tensors: TensorEntry[];
  metadata: Record<string, string>;
}

/** The header length from the first 8 bytes, checked against the file size. */
export function headerLength(first8: Uint8Array, fileSize: number, name: string): number {
  return named(name, () => headerLengthOf(first8, fileSize));
}

/**
 * Parse and validate a header (the N JSON bytes after the length) for a file of `fileSize` bytes.
 * Throws ApiError `unprocessable_entity` naming the file and the first problem found.
 */
export function validateHeader(json: Uint8Array, fileSize: number, name: string): SafetensorsHeader {
  const { tensors, metadata } = named(name, () => parseHeader(json, fileSize));
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  return { headerLength: json.length, tensors, metadata };
}

function named<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SafetensorsFormatError) throw new ApiError('unprocessable_entity', `Malformed safetensors file ${name}: ${err.message}`);
    throw err;
  }
}
