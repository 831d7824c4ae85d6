/**
 * O_DIRECT writes for downloaded parts (Node I/O), with buffered writes for what cannot go direct;
 * which path a download takes is write-path.ts's call.
 *
 * What it saves: a buffered write costs the kernel a copy of every byte into the page cache
 * (~0.4 ms of CPU per MiB on one VM, up to ~2.5 ms where the host faults in each fresh page) and
 * writeback. What it costs: each write is synchronous in a threadpool thread (four by default)
 * until the device has the bytes, and ext4 fills a fresh file's holes under the inode's exclusive
 * lock, so writes to one file go one at a time. Where the device answers each request in ~1 ms
 * that is fast; on VMs where DMA from the download's chunk buffers took 10–15 ms a request, the
 * download sat waiting on the disk (README.md, "Writes").
 *
 * O_DIRECT wants the memory address, file offset and length aligned to the device's logical block.
 * JavaScript cannot ask for aligned memory or read a buffer's address, so each pooled part buffer
 * carries 4 KiB of slack and its aligned start is found once by probing a scratch file. Anything
 * unaligned (a file's last partial block) goes through the buffered handle of the same file.
 * Filesystems without O_DIRECT refuse the open (EINVAL): then every write is buffered.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** Alignment used for addresses, offsets and lengths (covers 512- and 4096-byte devices). */
export const DIRECT_ALIGN = 4096;
const O_DIRECT = fs.constants.O_DIRECT ?? 0;

export interface DirectIo {
  /** The `size`-byte aligned window of a pooled buffer (its slack absorbs the shift), or null if none works. */
  window(buf: Buffer, size: number): Buffer | null;
  /** A second handle on `file` that bypasses the page cache. */
  open(file: string): Promise<fsp.FileHandle>;
  close(): Promise<void>;
}

/** Direct I/O in `dir`'s filesystem, or null when the platform or filesystem lacks it. */
export async function openDirectIo(dir: string): Promise<DirectIo | null> {
  if (!O_DIRECT) return null;
  const probeFile = path.join(dir, `.direct-probe-${process.pid}`);
  let fd: number;
  try {
    fd = fs.openSync(probeFile, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC | O_DIRECT);
  } catch {
    await fsp.rm(probeFile, { force: true });
    return null;
  }
  // Per memory block: the offset from its start of one aligned address (alignment repeats every
  // DIRECT_ALIGN bytes, so any view of the block can find its own aligned start from it).
  const aligned = new WeakMap<ArrayBufferLike, number | null>();
  return {
    window(buf, size) {
      let abs = aligned.get(buf.buffer);
      if (abs === undefined) {
        const off = probe(fd, buf);
        abs = off === null ? null : buf.byteOffset + off;
        aligned.set(buf.buffer, abs);
      }
      if (abs === null) return null;
      const rel = (((abs - buf.byteOffset) % DIRECT_ALIGN) + DIRECT_ALIGN) % DIRECT_ALIGN;
      return rel + size <= buf.length ? buf.subarray(rel, rel + size) : null;
    },
    open: (file) => fsp.open(file, fs.constants.O_RDWR | O_DIRECT),
    async close() {
      fs.closeSync(fd);
      await fsp.rm(probeFile, { force: true });
    },
  };
}

/** The smallest offset into `buf` from which a direct write succeeds (the kernel says EINVAL otherwise). */
function probe(fd: number, buf: Buffer): number | null {
  for (let off = 0; off + DIRECT_ALIGN <= buf.length && off < DIRECT_ALIGN; off += 16) {
    try {
      fs.writeSync(fd, buf, off, DIRECT_ALIGN, 0);
      return off;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') return null;
    }
  }
  return null;
}

/**
 * Write `len` bytes of `buf` at file offset `pos`: the block-aligned body through `direct`, the
 * rest (a file's unaligned tail) through the buffered `fh`. Without `direct`, 1 MiB buffered
 * writes (single huge buffered writes made the kernel build large page-cache folios and stall in
 * memory compaction: 16 MiB writes ran at 0.4–3.9 GiB/s, 1 MiB writes steadily at ~3.5 GiB/s).
 */
export async function writePart(fh: fsp.FileHandle, direct: fsp.FileHandle | null, buf: Buffer, len: number, pos: number): Promise<void> {
  let off = 0;
  if (direct && pos % DIRECT_ALIGN === 0) {
    const body = len - (len % DIRECT_ALIGN);
    while (off < body) off += (await direct.write(buf, off, body - off, pos + off)).bytesWritten;
  }
  while (off < len) off += (await fh.write(buf, off, Math.min(1024 * 1024, len - off), pos + off)).bytesWritten;
}
