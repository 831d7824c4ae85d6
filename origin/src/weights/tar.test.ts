import { describe, expect, it } from 'vitest';
import { BLOCK, decodeHeader, fileHeader, padding, parsePax } from './tar.ts';

function read(header: Uint8Array): { name: string; size: number } {
  let off = 0;
  let pax: Record<string, string> = {};
  for (;;) {
    const h = decodeHeader(header.subarray(off, off + BLOCK))!;
    off += BLOCK;
    if (h.type === 'x') {
      pax = parsePax(header.subarray(off, off + h.size));
      off += h.size + padding(h.size);
      continue;
    }
    expect(off).toBe(header.length);
    return { name: pax.path ?? h.name, size: pax.size ? Number(pax.size) : h.size };
  }
}

describe('tar headers', () => {
  it.each([
    ['a short name', 'files/config.json', 602],
    ['an empty file', 'files/empty', 0],
    ['a long nested name (pax path)', `files/${'d/'.repeat(60)}model-00001-of-00002.safetensors`, 12345],
    ['a file over 8 GiB (pax size)', 'files/model.safetensors', 9 * 1024 ** 3 + 7],
    ['a non-ASCII name', 'files/모델/설정.json', 3],
  ])('round-trips %s', (_n, name, size) => {
    const h = fileHeader(name, size, 1_700_000_000);
    expect(h.length % BLOCK).toBe(0);
    expect(read(h)).toEqual({ name, size });
  });

  it('detects a corrupted header', () => {
    const h = fileHeader('files/a', 10, 0);
    h[0] = h[0]! ^ 1;
    expect(() => decodeHeader(h)).toThrow(/checksum/);
  });

  it('reads a zero block as the end of the archive', () => {
    expect(decodeHeader(new Uint8Array(BLOCK))).toBeNull();
  });

  it('parses pax records whose length counts its own digits', () => {
    expect(parsePax(new TextEncoder().encode('21 path=files/abcdef\n12 size=100\n'))).toEqual({ path: 'files/abcdef', size: '100' });
  });
});
