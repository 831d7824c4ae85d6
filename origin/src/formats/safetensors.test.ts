import { describe, expect, it } from 'vitest';
import { buildHeader, headerLengthField, headerLengthOf, MAX_HEADER_BYTES, parseHeader, SafetensorsFormatError } from './safetensors.ts';

/** A whole file from header entries and a data-section length. */
function file(header: unknown, dataLen: number): { bytes: Uint8Array; json: Uint8Array } {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + dataLen);
  bytes.set(headerLengthField(json.length), 0);
  bytes.set(json, 8);
  return { bytes, json };
}

describe('safetensors format', () => {
  it('builds a space-padded header that parses back, metadata first, offsets relative', () => {
    const tensors = [
      { name: 'b', dtype: 'BF16', shape: [2], begin: 0, end: 4 },
      { name: 'a', dtype: 'F32', shape: [1, 1], begin: 4, end: 8 },
    ];
    const json = buildHeader(tensors, { format: 'pt' });
    expect(json.length % 8).toBe(0);
    expect(new TextDecoder().decode(json)).toMatch(/^\{"__metadata__":\{"format":"pt"\},"b":.* *$/);
    const h = parseHeader(json, 8 + json.length + 8);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.tensors).toEqual(tensors);
  });

  it('reads the length field and checks it against the file size', () => {
    const { bytes, json } = file({}, 0);
    expect(headerLengthOf(bytes.subarray(0, 8), bytes.length)).toBe(json.length);
    expect(() => headerLengthOf(new Uint8Array(3), 3)).toThrow(/shorter than the 8-byte/);
    expect(() => headerLengthOf(headerLengthField(MAX_HEADER_BYTES + 1), 1 << 30)).toThrow(/outside/);
    expect(() => headerLengthOf(headerLengthField(100), 20)).toThrow(/runs past the end/);
  });

  it.each([
    ['a gap', { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8, /gap of 4 bytes before tensor 'a'/],
    [
      'an overlap',
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
      8,
      /'b' overlaps tensor 'a'/,
    ],
    ['trailing bytes', { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, 6, /2 trailing bytes/],
    ['data past the end', { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, 3, /run past the end of the data/],
    ['a size that does not match the shape', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8, /needs 12 bytes/],
    ['an unknown dtype', { a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1, /unknown dtype 'Q4'/],
    ['a negative dimension', { a: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }, 0, /malformed entry \(invalid shape/],
    ['reversed offsets', { a: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, 4, /end before begin/],
    ['non-string metadata', { __metadata__: { n: 1 } }, 0, /__metadata__\.n is not a string/],
  ])('refuses %s with a SafetensorsFormatError', (_name, header, dataLen, why) => {
    const { bytes, json } = file(header, dataLen);
    expect(() => parseHeader(json, bytes.length)).toThrow(SafetensorsFormatError);
    expect(() => parseHeader(json, bytes.length)).toThrow(why);
  });
});
