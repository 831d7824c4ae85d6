import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLeafBatcher } from '../../../weights/leaf-batcher.ts';
import { copyIntoSink } from '../../../weights/object-store.ts';
import { type DirectIo, openDirectIo } from './direct-io.ts';
import { nativeSha256Batch, PartDigest, portableSha256Batch } from './leaf-hash.ts';
import { CHUNK_BYTES, createPartSink, createRingPool, RING_CHUNKS } from './part-sink.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let dir: string;
let direct: DirectIo | null = null;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'part-sink-'));
});
afterEach(async () => {
  await direct?.close();
  direct = null;
  await fs.rm(dir, { recursive: true, force: true });
});

/** Feed `bytes` to a sink the way a socket does: reads of `read` bytes into the buffers it gives. */
async function feed(sink: ReturnType<typeof createPartSink>, bytes: Uint8Array, read: number): Promise<number> {
  let waits = 0;
  for (let off = 0; off < bytes.length; ) {
    const b = sink.buffer(Math.min(read, bytes.length - off));
    b.set(bytes.subarray(off, off + b.length));
    off += b.length;
    const full = sink.wrote(b.length);
    if (full) {
      waits++;
      await full;
    }
  }
  return waits;
}

describe('part sink', () => {
  it.each([
    ['O_DIRECT where available', true],
    ['through the page cache', false],
  ])('streams a part to its file offset and hashes it as it lands (%s)', async (_name, useDirect) => {
    direct = useDirect ? await openDirectIo(dir) : null;
    const file = path.join(dir, 'f');
    const start = 4 * CHUNK_BYTES; // a later part of the file
    // Several rings' worth, with an unaligned tail (the buffered handle takes it).
    const part = randomBytes(RING_CHUNKS * CHUNK_BYTES * 2 + 12_345);
    const fh = await fs.open(file, 'w+');
    await fh.truncate(start + part.length);
    const dfh = direct ? await direct.open(file) : null;
    const ring = createRingPool(direct, 1).take();
    const sink = createPartSink({ ring, fh, direct: dfh, start, length: part.length, digest: { leaf: null }, batcher: null });
    await feed(sink, part, 300_000);
    expect(await sink.finish()).toBe(sha(part));
    await dfh?.close();
    await fh.close();
    const back = await fs.readFile(file);
    expect(back.subarray(start).equals(part)).toBe(true);
    expect(back.subarray(0, start).every((x) => x === 0)).toBe(true);
  });

  const leafDigest = (bytes: Uint8Array, leaf: number) => {
    const d = new PartDigest(leaf);
    d.update(bytes);
    return d.digest();
  };
  it.each([
    ['native batch, 1 MiB leaves', nativeSha256Batch(), CHUNK_BYTES],
    ['native batch, 256 KiB leaves', nativeSha256Batch(), 256 * 1024],
    ['portable batch, 1 MiB leaves', portableSha256Batch, CHUNK_BYTES],
    ['no batch (streamed), 1 MiB leaves', null, CHUNK_BYTES],
    ['2 MiB leaves (do not tile a chunk: streamed)', portableSha256Batch, 2 * CHUNK_BYTES],
  ])('digests a leaf part like PartDigest: %s', async (name, batch, leaf) => {
    if (name.startsWith('native') && batch === null) return; // no SHA-NI here: covered by the portable rows
    const fh = await fs.open(path.join(dir, 'f'), 'w+');
    const batcher = batch ? createLeafBatcher(batch) : null;
    // Three parts through one ring, interleaved with another ring's part (leaves of several
    // parts share the batch queue), the last part with a short final leaf.
    const parts = [randomBytes(6 * CHUNK_BYTES), randomBytes(5 * CHUNK_BYTES + 777), randomBytes(4096)];
    const pool = createRingPool(null, 2);
    const [r1, r2] = [pool.take(), pool.take()];
    const other = randomBytes(3 * CHUNK_BYTES);
    const s2 = createPartSink({ ring: r2, fh, direct: null, start: 32 * CHUNK_BYTES, length: other.length, digest: { leaf }, batcher });
    const done2 = feed(s2, other, 200_000);
    let start = 0;
    for (const part of parts) {
      const sink = createPartSink({ ring: r1, fh, direct: null, start, length: part.length, digest: { leaf }, batcher });
      await feed(sink, part, 150_000);
      expect(await sink.finish()).toBe(leafDigest(part, leaf));
      start += 8 * CHUNK_BYTES;
    }
    await done2;
    expect(await s2.finish()).toBe(leafDigest(other, leaf));
    expect(batcher?.queued ?? 0).toBe(0);
    await fh.close();
  });

  it('without hashing returns null, and copyIntoSink waits while the ring is full', async () => {
    const file = path.join(dir, 'f');
    const part = randomBytes(3 * CHUNK_BYTES + 1);
    const fh = await fs.open(file, 'w+');
    const ring = createRingPool(null, 1).take().slice(0, 2); // two chunks: the third must wait
    const sink = createPartSink({ ring, fh, direct: null, start: 0, length: part.length, digest: null, batcher: null });
    await copyIntoSink(sink, part);
    expect(await sink.finish()).toBeNull();
    await fh.close();
    expect((await fs.readFile(file)).equals(part)).toBe(true);
  });

  it('a failed write surfaces as the sink error and rejects the next wrote and finish', async () => {
    const file = path.join(dir, 'f');
    const fh = await fs.open(file, 'w+');
    await fh.close(); // every write now fails (EBADF)
    const ring = createRingPool(null, 1).take();
    const sink = createPartSink({ ring, fh, direct: null, start: 0, length: 2 * CHUNK_BYTES, digest: { leaf: null }, batcher: null });
    const full = sink.buffer(CHUNK_BYTES);
    expect(full.length).toBe(CHUNK_BYTES);
    sink.wrote(CHUNK_BYTES); // the first chunk is written (and fails) in the background
    await sink.settle();
    expect(sink.error).toBeTruthy();
    await expect(Promise.resolve(sink.wrote(1))).rejects.toBeTruthy();
    await expect(sink.finish()).rejects.toBeTruthy();
  });

  it('carves aligned rings from one slab, and allocates more when asked', async () => {
    direct = await openDirectIo(dir);
    const pool = createRingPool(direct, 2);
    const a = pool.take();
    const b = pool.take();
    const c = pool.take(); // beyond the two asked for
    expect([a, b, c].map((r) => r.length)).toEqual([RING_CHUNKS, RING_CHUNKS, RING_CHUNKS]);
    expect(a.every((x) => x.length === CHUNK_BYTES)).toBe(true);
    expect(a[0]!.buffer).toBe(b[0]!.buffer);
    pool.give(a);
    expect(pool.take()).toBe(a);
    if (direct) {
      // Every chunk takes a direct write (aligned address), not only the slab's first.
      const fd = await fs.open(path.join(dir, 'probe'), constants.O_RDWR | constants.O_CREAT | constants.O_DIRECT);
      await fd.write(b[RING_CHUNKS - 1]!, 0, 4096, 0);
      await fd.close();
    }
  });

  it('refuses more bytes than the part holds', async () => {
    const fh = await fs.open(path.join(dir, 'f'), 'w+');
    const sink = createPartSink({ ring: createRingPool(null, 1).take(), fh, direct: null, start: 0, length: 10, digest: { leaf: null }, batcher: null });
    sink.buffer(20);
    await expect(Promise.resolve(sink.wrote(11))).rejects.toMatchObject({ code: 'internal_error' });
    await fh.close();
  });
});
