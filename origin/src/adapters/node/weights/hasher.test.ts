import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHasher, type Hasher } from './hasher.ts';
import { PartDigest } from './leaf-hash.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let h: Hasher | null = null;
let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hasher-'));
});
afterEach(async () => {
  await h?.close();
  h = null;
  await fs.rm(dir, { recursive: true, force: true });
});

describe('hasher (ranges read back from disk)', () => {
  it('hashes ranges fed in order, several jobs interleaved', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const file = path.join(dir, 'f');
    await fs.writeFile(file, bytes);
    h = createHasher({ nice: 5 });
    const cut = 1024 * 1024 + 5;
    h.update('whole', file, 0, cut);
    h.update('tail', file, cut, bytes.length);
    h.update('whole', file, cut, bytes.length);
    expect(await h.digest('tail')).toBe(sha(bytes.subarray(cut)));
    expect(await h.digest('whole')).toBe(sha(bytes));
    // An empty range adds nothing; a job that got nothing digests the empty string.
    h.update('none', file, 7, 7);
    expect(await h.digest('none')).toBe(sha(Buffer.alloc(0)));
  });

  it('digests in the leaf form exactly as PartDigest does, across ranges that split leaves', async () => {
    const bytes = randomBytes(5 * 65536 + 123);
    const file = path.join(dir, 'leafy');
    await fs.writeFile(file, bytes);
    h = createHasher();
    const leaf = 65536;
    h.update('l', file, 100, 70_000, leaf);
    h.update('l', file, 70_000, bytes.length);
    const want = new PartDigest(leaf);
    want.update(bytes.subarray(100));
    expect(await h.digest('l')).toBe(want.digest());
  });

  it('reports a range past the end of the file or a missing file as an error', async () => {
    const file = path.join(dir, 'short');
    await fs.writeFile(file, 'abc');
    h = createHasher();
    h.update('past', file, 0, 10);
    await expect(h.digest('past')).rejects.toThrow(/Hashing failed: unexpected end of file/);
    h.update('gone', path.join(dir, 'missing'), 0, 10);
    await expect(h.digest('gone')).rejects.toMatchObject({ code: 'internal_error' });
  });

  it('closes cleanly when never used (the thread starts on first use), and works after', async () => {
    const idle = createHasher();
    idle.drop('nothing');
    await idle.close();
    const file = path.join(dir, 'f');
    await fs.writeFile(file, 'abc');
    h = createHasher();
    h.update('j', file, 0, 3);
    expect(await h.digest('j')).toBe(sha(Buffer.from('abc')));
  });

  it('refuses a second wait on the same job, and a dropped job starts afresh', async () => {
    const file = path.join(dir, 'f');
    await fs.writeFile(file, 'hello world');
    h = createHasher();
    h.update('j', file, 0, 5);
    const first = h.digest('j');
    await expect(h.digest('j')).rejects.toThrow(/already awaited/);
    expect(await first).toBe(sha(Buffer.from('hello')));
    h.update('d', file, 0, 5);
    h.drop('d');
    h.update('d', file, 6, 11);
    expect(await h.digest('d')).toBe(sha(Buffer.from('world')));
  });
});
