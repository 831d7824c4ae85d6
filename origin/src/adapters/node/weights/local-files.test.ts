import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashFile, sha256File } from './local-files.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'local-files-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('hashFile', () => {
  it.each([
    ['parts that straddle read chunks', 3 * 1024 * 1024 + 123, 1536 * 1024],
    ['an exact multiple of the part size', 2 * 65536, 65536],
    ['a file smaller than one part', 1000, 65536],
    ['an empty file', 0, 4096],
  ])('hashes the whole file and each part in one read (%s)', async (_n, size, partSize) => {
    const bytes = randomBytes(size);
    const file = path.join(dir, 'f');
    await fs.writeFile(file, bytes);
    const seen: number[] = [];
    const r = await hashFile(file, { size: partSize }, (n) => seen.push(n));
    expect(r.sha256).toBe(sha(bytes));
    const want: string[] = [];
    for (let s = 0; s < size; s += partSize) want.push(sha(bytes.subarray(s, Math.min(size, s + partSize))));
    expect(r.parts).toEqual({ size: partSize, sha256: want });
    expect(seen.reduce((a, b) => a + b, 0)).toBe(size);
    expect(await sha256File(file)).toBe(sha(bytes));
  });

  it("with leaves, each part hash is the sha256 of its leaves' sha256s (the last leaf short)", async () => {
    const bytes = randomBytes(3 * 65536 + 5000);
    const file = path.join(dir, 'l');
    await fs.writeFile(file, bytes);
    const leaf = 32768;
    const r = await hashFile(file, { size: 2 * 65536, leaf });
    const bin = (b: Uint8Array) => createHash('sha256').update(b).digest();
    const partDigest = (p: Uint8Array) => {
      const leaves: Buffer[] = [];
      for (let s = 0; s < p.length; s += leaf) leaves.push(bin(p.subarray(s, s + leaf)));
      return sha(Buffer.concat(leaves));
    };
    expect(r.sha256).toBe(sha(bytes));
    expect(r.parts).toEqual({ size: 2 * 65536, leaf, sha256: [partDigest(bytes.subarray(0, 2 * 65536)), partDigest(bytes.subarray(2 * 65536))] });
  });

  it('without a part size gives the whole-file sha256 only', async () => {
    const file = path.join(dir, 'g');
    await fs.writeFile(file, 'hello');
    expect(await hashFile(file, null)).toEqual({ sha256: sha(Buffer.from('hello')) });
  });
});
