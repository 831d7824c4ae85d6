/**
 * The download's write path: which mode each `writes` setting opens, when `auto` leaves O_DIRECT
 * for the page cache, and that a file written partly each way reads back whole (the fallback
 * switches mid-file). Where the filesystem has no O_DIRECT, the direct cases check the fallback to
 * the page cache instead.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDirectIo } from './direct-io.ts';
import { CHUNK_BYTES, createPartSink } from './part-sink.ts';
import { JUDGE_AFTER_BYTES, MAX_STALL_SHARE, openWritePath, type WritePath } from './write-path.ts';

const MiB = 1024 * 1024;
let dir: string;
let hasDirect: boolean;
let open: WritePath[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'write-path-'));
  const probe = await openDirectIo(dir);
  hasDirect = probe !== null;
  await probe?.close();
});
afterEach(async () => {
  for (const w of open) await w.close();
  open = [];
  await fs.rm(dir, { recursive: true, force: true });
});
const writePath = async (...args: Parameters<typeof openWritePath>) => {
  const w = await openWritePath(...args);
  open.push(w);
  return w;
};

describe('openWritePath', () => {
  it('page-cache opens no direct handle; neither does a download the hasher reads back (0 bytes with part hashes)', async () => {
    for (const w of [await writePath('page-cache', dir, 100 * MiB, 2), await writePath('auto', dir, 0, 2)]) {
      expect(w.direct).toBeNull();
      expect(w.useDirect).toBe(false);
      expect(w.used).toBe('page-cache');
      expect(w.rings.take()).toHaveLength(4);
    }
  });

  it('auto writes with O_DIRECT where the filesystem has it, and keeps it while parts rarely wait', async () => {
    const w = await writePath('auto', dir, 100 * MiB, 2);
    expect(w.useDirect).toBe(hasDirect);
    for (let i = 0; i < 10; i++) w.partDone(16 * MiB, 40, 1, hasDirect);
    expect(w.used).toBe(hasDirect ? 'direct' : 'page-cache');
    expect(w.stallShare).toBe(hasDirect ? 1 / 40 : null);
  });

  it('auto moves later parts to the page cache once direct parts wait on the disk, and not before enough bytes', async () => {
    const w = await writePath('auto', dir, 100 * MiB, 2);
    if (!hasDirect) return;
    const part = 16 * MiB;
    const waited = 40 * (MAX_STALL_SHARE + 0.1);
    for (let n = part; n < JUDGE_AFTER_BYTES; n += part) w.partDone(part, 40, waited, true);
    expect(w.useDirect).toBe(true); // one slow start is not a verdict
    w.partDone(part, 40, waited, true);
    expect(w.useDirect).toBe(false);
    expect(w.used).toBe('direct, then page-cache');
    // Buffered parts do not count towards the direct verdict, and there is no way back.
    w.partDone(part, 40, 0, false);
    expect(w.useDirect).toBe(false);
    expect(w.stallShare).toBeCloseTo(MAX_STALL_SHARE + 0.1);
  });

  it('direct never falls back, however long parts wait', async () => {
    const w = await writePath('direct', dir, 100 * MiB, 2);
    for (let i = 0; i < 10; i++) w.partDone(16 * MiB, 40, 39, hasDirect);
    expect(w.useDirect).toBe(hasDirect);
    expect(w.used).toBe(hasDirect ? 'direct' : 'page-cache');
  });

  it('a file whose parts went partly through O_DIRECT and partly through the page cache reads back whole', async () => {
    const w = await writePath('direct', dir, 100 * MiB, 1);
    const file = path.join(dir, 'f');
    const parts = [randomBytes(2 * CHUNK_BYTES), randomBytes(3 * CHUNK_BYTES), randomBytes(CHUNK_BYTES + 777)];
    const fh = await fs.open(file, 'w+');
    await fh.truncate(parts.reduce((a, p) => a + p.length, 0));
    const dfh = w.direct ? await w.direct.open(file) : null;
    let start = 0;
    for (const [i, part] of parts.entries()) {
      const ring = w.rings.take();
      const sink = createPartSink({ ring, fh, direct: i === 1 ? null : dfh, start, length: part.length, digest: null, batcher: null });
      for (let off = 0; off < part.length; ) {
        const b = sink.buffer(part.length - off);
        b.set(part.subarray(off, off + b.length));
        off += b.length;
        await sink.wrote(b.length);
      }
      await sink.finish();
      w.rings.give(ring);
      start += part.length;
    }
    await fh.datasync();
    await dfh?.close();
    await fh.close();
    expect((await fs.readFile(file)).equals(Buffer.concat(parts))).toBe(true);
  });
});
