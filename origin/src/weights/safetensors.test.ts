import { describe, expect, it } from 'vitest';
import { headerLength, validateHeader } from './safetensors.ts';

/** A safetensors file from a header object and a data-section length. */
function file(header: unknown, dataLen: number, opts: { lenOverride?: bigint } = {}): { bytes: Uint8Array; json: Uint8Array } {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + dataLen);
  new DataView(bytes.buffer).setBigUint64(0, opts.lenOverride ?? BigInt(json.length), true);
  bytes.set(json, 8);
  return { bytes, json };
}

const check = (header: unknown, dataLen: number) => {
  const { bytes, json } = file(header, dataLen);
  headerLength(bytes.subarray(0, 8), bytes.length, 'x.safetensors');
  return validateHeader(json, bytes.length, 'x.safetensors');
};

describe('safetensors header validation', () => {
  it('accepts contiguous tensors in any header order, with metadata', () => {
    const h = check(
      {
        __metadata__: { format: 'pt' },
        b: { dtype: 'BF16', shape: [2, 3], data_offsets: [16, 28] },
        a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
        empty: { dtype: 'F16', shape: [0], data_offsets: [28, 28] },
      },
      28,
    );
    expect(h.tensors.map((t) => t.name)).toEqual(['a', 'b', 'empty']);
    expect(h.metadata).toEqual({ format: 'pt' });
  });

  it.each([
    ['gap between tensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12, /gap/],
    ['overlapping tensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8, /overlap/],
    ['bytes do not match dtype × shape', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8, /needs 12/],
    ['trailing bytes after the data', { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, 5, /holds 5 data bytes/],
    ['data shorter than the offsets', { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, 3, /holds 3 data bytes/],
    ['unknown dtype', { a: { dtype: 'F12', shape: [1], data_offsets: [0, 1] } }, 1, /unknown dtype/],
    ['negative dimension', { a: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }, 0, /invalid shape/],
    ['reversed offsets', { a: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, 4, /invalid data_offsets/],
    ['non-string metadata', { __metadata__: { n: 1 } }, 0, /__metadata__.n/],
    ['not an object', '[1,2]', 0, /not a JSON object/],
    ['not JSON', '{"a":', 0, /not valid UTF-8 JSON/],
  ])('refuses %s', (_name, header, dataLen, why) => {
    expect(() => check(header, dataLen)).toThrow(why);
  });

  it.each([
    ['a header length past the end of the file', 10_000n, /runs past the end/],
    ['an absurd header length', 1n << 40n, /outside/],
    ['a zero header length', 0n, /outside/],
  ])('refuses %s', (_n, len, why) => {
    const { bytes } = file({}, 0, { lenOverride: len });
    expect(() => headerLength(bytes.subarray(0, 8), bytes.length, 'x')).toThrow(why);
  });

  it('refuses a file shorter than 8 bytes', () => {
    expect(() => headerLength(new Uint8Array(4), 4, 'x')).toThrow(/shorter than/);
  });
});
