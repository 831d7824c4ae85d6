/**
 * O_DIRECT part writes in a temp dir. Filesystems without O_DIRECT (tmpfs) make openDirectIo
 * return null: the direct-specific cases are then skipped, the buffered ones still run.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIRECT_ALIGN, type DirectIo, openDirectIo, writePart } from './direct-io.ts';

const KiB = 1024;
const SUPPORTED = await (async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'direct-io-probe-'));
  const dio = await openDirectIo(dir);
  await dio?.close();
  await fs.rm(dir, { recursive: true, force: true });
  return dio !== null;
})();

let tmp: string;
let dio: DirectIo | null;
const handles: fs.FileHandle[] = [];

beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'direct-io-unit-'));
  dio = await openDirectIo(tmp);
});
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
  await dio?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A pooled part buffer the way download.ts makes them: shared memory with DIRECT_ALIGN of slack. */
const pooled = (size: number) => Buffer.from(new SharedArrayBuffer(size + DIRECT_ALIGN));

/** Counts bytes written through a handle, to see which path (direct or buffered) carried them. */
function counted(h: fs.FileHandle) {
  const writes: number[] = [];
  const spy = {
    write: async (buf: Buffer, off: number, len: number, pos: number) => {
      const r = await h.write(buf, off, len, pos);
      writes.push(r.bytesWritten);
      return r;
    },
  } as unknown as fs.FileHandle;
  return { spy, writes, total: () => writes.reduce((a, b) => a + b, 0) };
}

async function openPair(name: string) {
  const file = path.join(tmp, name);
  const fh = await fs.open(file, 'w+');
  handles.push(fh);
  const dfh = dio ? await dio.open(file) : null;
  if (dfh) handles.push(dfh);
  return { file, fh, dfh };
}

describe('openDirectIo', () => {
  it('returns a DirectIo, or null where the filesystem has no O_DIRECT', () => {
    if (dio === null) return; // null is a valid answer (tmpfs, non-Linux)
    expect(typeof dio.window).toBe('function');
    expect(typeof dio.open).toBe('function');
  });

  it('leaves no probe file behind after close (or after answering null)', async () => {
    if (dio) expect(await fs.readdir(tmp)).toContain(`.direct-probe-${process.pid}`);
    await dio?.close();
    dio = null;
    expect(await fs.readdir(tmp)).toEqual([]);
  });

  it.skipIf(!SUPPORTED)('window() is a size-byte view into the same memory, found once per buffer', () => {
    const size = 64 * KiB;
    const buf = pooled(size);
    const w = dio!.window(buf, size);
    expect(w).not.toBeNull();
    expect(w!.length).toBe(size);
    expect(w!.buffer).toBe(buf.buffer);
    expect(w!.byteOffset - buf.byteOffset).toBeGreaterThanOrEqual(0);
    expect(w!.byteOffset - buf.byteOffset).toBeLessThan(DIRECT_ALIGN);
    w![0] = 0xab;
    expect(buf[w!.byteOffset - buf.byteOffset]).toBe(0xab);
    expect(dio!.window(buf, size)!.byteOffset).toBe(w!.byteOffset);
  });
});

describe('writePart', () => {
  const PART = 4 * DIRECT_ALIGN;
  it.skipIf(!SUPPORTED).each([
    ['an aligned full part', PART, 0, PART],
    ['an unaligned tail', 2 * DIRECT_ALIGN + 123, DIRECT_ALIGN, 2 * DIRECT_ALIGN],
    ['a tail shorter than a block', 100, 2 * DIRECT_ALIGN, 0],
    ['an unaligned position (all buffered)', 2 * DIRECT_ALIGN, 100, 0],
  ])('writes %s (%i bytes at %i, %i of them through O_DIRECT)', async (_, len, pos, viaDirect) => {
    const { file, fh, dfh } = await openPair('part.bin');
    const buf = dio!.window(pooled(PART), PART)!;
    const data = randomBytes(len);
    data.copy(buf);
    const d = counted(dfh!);
    const b = counted(fh);
    await writePart(b.spy, d.spy, buf, len, pos);
    expect(d.total()).toBe(viaDirect);
    expect(b.total()).toBe(len - viaDirect);
    const back = await fs.readFile(file);
    expect(back.length).toBe(pos + len);
    expect(back.subarray(0, pos).every((x) => x === 0)).toBe(true);
    expect(back.subarray(pos).equals(data)).toBe(true);
  });

  it.skipIf(!SUPPORTED)('assembles a file from parts written out of order, the last one unaligned', async () => {
    const size = 3 * PART + 777;
    const want = randomBytes(size);
    const { file, fh, dfh } = await openPair('model.bin');
    const buf = dio!.window(pooled(PART), PART)!;
    for (const start of [2 * PART, 0, 3 * PART, PART]) {
      const len = Math.min(PART, size - start);
      want.copy(buf, 0, start, start + len);
      await writePart(fh, dfh, buf, len, start);
    }
    await fh.sync();
    expect((await fs.readFile(file)).equals(want)).toBe(true);
  });

  it('writes through the buffered handle alone when there is no direct handle, in chunks of at most 1 MiB', async () => {
    const len = 1024 * KiB + DIRECT_ALIGN + 5;
    const file = path.join(tmp, 'buffered.bin');
    const fh = await fs.open(file, 'w+');
    handles.push(fh);
    const data = randomBytes(len);
    const b = counted(fh);
    await writePart(b.spy, null, data, len, 3);
    expect(b.total()).toBe(len);
    expect(Math.max(...b.writes)).toBeLessThanOrEqual(1024 * KiB);
    const back = await fs.readFile(file);
    expect(back.subarray(0, 3).equals(Buffer.alloc(3))).toBe(true);
    expect(back.subarray(3).equals(data)).toBe(true);
  });

  it('writes only `len` bytes of a larger buffer', async () => {
    const file = path.join(tmp, 'short.bin');
    const fh = await fs.open(file, 'w+');
    handles.push(fh);
    const data = randomBytes(10 * KiB);
    await writePart(fh, null, data, 5000, 0);
    expect((await fs.readFile(file)).equals(data.subarray(0, 5000))).toBe(true);
  });
});
