/**
 * Whole-file sha256 off the main thread, plus the pool of part buffers that feed it.
 *
 * Parts of a file land out of order; the downloader feeds the hasher in file order as the
 * completed prefix grows, so hashing overlaps the download instead of following it. A part still
 * in memory is hashed in place from shared memory (no copy) and its buffer returns to the pool;
 * a part that is not (resumed, or beyond the memory budget) is read back from disk by the worker.
 * Reusing a fixed set of part buffers matters: allocating a fresh 16 MiB buffer per part made V8
 * collect garbage for a third of the main thread's time. Bounding that set matters as much: the
 * first touch of fresh memory costs the kernel a zeroed page per 4 KiB (0.5–1.7 ms/MiB on these
 * VMs, as much as sha256), and an unbounded pool grew to 40 buffers whenever hashing lagged, so
 * page clearing took more CPU than hashing. With `maxBuffers`, a fetch waits for a buffer instead:
 * a lagging hash slows the download (backpressure) rather than allocating around it.
 */
import { Worker } from 'node:worker_threads';
import { ApiError } from '#shared/errors.ts';

// Plain JS, evaluated as the worker's script: a .ts worker file would need a loader in every
// runtime that imports this module (tsx, vitest, node).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// Below the process's other threads (the engine, the HTTP loop): on Linux a nice value set with
// pid 0 applies to the calling thread only. Raising it never needs privileges.
if (workerData.nice > 0) { try { require('node:os').setPriority(workerData.nice); } catch {} }
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const jobs = new Map();
const slots = new Map();
const buf = Buffer.allocUnsafe(4 << 20);
parentPort.on('message', (m) => {
  if (m.op === 'slot') { slots.set(m.slot, new Uint8Array(m.sab)); return; }
  let j = jobs.get(m.id);
  if (m.op === 'drop') {
    if (j && j.fd !== null) fs.closeSync(j.fd);
    jobs.delete(m.id);
    return;
  }
  if (!j) { j = { hash: createHash('sha256'), fd: null, error: null }; jobs.set(m.id, j); }
  if (m.op === 'data') {
    if (!j.error) j.hash.update(slots.get(m.slot).subarray(m.offset, m.offset + m.length));
    parentPort.postMessage({ op: 'free', slot: m.slot });
  } else if (m.op === 'update') {
    if (j.error) return;
    try {
      if (j.fd === null) j.fd = fs.openSync(m.path, 'r');
      let pos = m.start;
      while (pos < m.end) {
        const n = fs.readSync(j.fd, buf, 0, Math.min(buf.length, m.end - pos), pos);
        if (n <= 0) throw new Error('unexpected end of file at ' + pos);
        j.hash.update(buf.subarray(0, n));
        pos += n;
      }
    } catch (e) { j.error = String(e && e.message || e); }
  } else if (m.op === 'digest') {
    if (j.fd !== null) fs.closeSync(j.fd);
    jobs.delete(m.id);
    parentPort.postMessage(j.error ? { op: 'digest', id: m.id, error: j.error } : { op: 'digest', id: m.id, hex: j.hash.digest('hex') });
  }
});
`;

export interface Hasher {
  /**
   * A part buffer of `bufferBytes` from the pool: a free one, a new one while fewer than
   * `maxBuffers` exist, else the next one given back (waiters are served first come, first served,
   * which keeps a downloader that acquires in file order free of deadlock).
   */
  acquire(signal?: AbortSignal): Promise<Buffer>;
  /** Buffers allocated so far (the pool's high-water mark). */
  readonly allocated: number;
  /** Give back a buffer (or any window of one) that will not be passed to `updateData`. */
  release(buf: Buffer): void;
  /** Hash bytes [start, end) of `path` next, in order, for job `id` (read back from disk). */
  update(id: string, path: string, start: number, end: number): void;
  /**
   * Hash the first `length` bytes of `buf` (a buffer from `acquire`, or a window into one) next for
   * job `id`. The worker reads it in place and returns the pooled buffer afterwards: the caller
   * must not touch it again.
   */
  updateData(id: string, buf: Buffer, length: number): void;
  /** The sha256 hex of everything fed to `id` so far; ends the job. */
  digest(id: string): Promise<string>;
  /** Forget a job (its file is being discarded). */
  drop(id: string): void;
  close(): Promise<void>;
}

/**
 * Start a hashing worker. Part buffers live in SharedArrayBuffers shared with the worker once:
 * handing a part over is a message with a slot number, and the slot returns to the pool when the
 * worker is done. (Transferring ArrayBuffers back and forth instead registered 16 MiB of new
 * external memory per part on each side, and V8 answered with a full GC per part.)
 */
export function createHasher(o: { bufferBytes: number; maxBuffers?: number; nice?: number }): Hasher {
  const maxBuffers = Math.max(1, o.maxBuffers ?? Number.POSITIVE_INFINITY);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { nice: o.nice ?? 0 } });
  const waiting = new Map<string, { resolve: (hex: string) => void; reject: (e: Error) => void }>();
  const slots: Buffer[] = [];
  const slotOf = new WeakMap<ArrayBufferLike, number>();
  const free: number[] = [];
  const waiters: { resolve: (buf: Buffer) => void; reject: (e: unknown) => void; signal: AbortSignal | undefined; onAbort: () => void }[] = [];
  // Every path that frees a slot comes here: hand it to the oldest waiter, or keep it.
  const giveBack = (slot: number) => {
    const w = waiters.shift();
    if (!w) return void free.push(slot);
    w.signal?.removeEventListener('abort', w.onAbort);
    refresh();
    w.resolve(slots[slot]!);
  };
  // Idle, the worker must not keep a finished CLI process alive; while a digest or a buffer it
  // holds is awaited, it must (its reply may be the only event left to come).
  const refresh = () => (waiting.size > 0 || waiters.length > 0 ? worker.ref() : worker.unref());
  let dead: Error | null = null;
  const slotFor = (buf: Buffer): number => {
    const slot = slotOf.get(buf.buffer);
    if (slot === undefined) throw new ApiError('internal_error', 'hasher: not a buffer from acquire()');
    return slot;
  };
  worker.on('message', (m: { op: string; id: string; hex?: string; error?: string; slot?: number }) => {
    if (m.op === 'free') return giveBack(m.slot!);
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    refresh();
    if (!w) return;
    if (m.hex !== undefined) w.resolve(m.hex);
    else w.reject(new ApiError('internal_error', `Hashing failed: ${m.error}`));
  });
  worker.on('error', (err) => {
    dead = err;
    for (const w of waiting.values()) w.reject(new ApiError('internal_error', `Hash worker died: ${err.message}`, { cause: err }));
    waiting.clear();
    // Buffers handed to the dead worker never come back: nobody may wait for them.
    for (const w of waiters.splice(0)) w.reject(new ApiError('internal_error', `Hash worker died: ${err.message}`, { cause: err }));
  });
  worker.unref();
  return {
    get allocated() {
      return slots.length;
    },
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (dead) return Promise.reject(new ApiError('internal_error', `Hash worker died: ${(dead as Error).message}`));
      // LIFO reuse: the most recently used buffer is the likeliest to be still in cache.
      const reuse = free.pop();
      if (reuse !== undefined) return Promise.resolve(slots[reuse]!);
      if (slots.length < maxBuffers) {
        const sab = new SharedArrayBuffer(o.bufferBytes);
        const buf = Buffer.from(sab);
        const slot = slots.push(buf) - 1;
        slotOf.set(sab, slot);
        worker.postMessage({ op: 'slot', slot, sab });
        return Promise.resolve(buf);
      }
      return new Promise<Buffer>((resolve, reject) => {
        const w = {
          resolve, reject, signal,
          onAbort: () => {
            waiters.splice(waiters.indexOf(w), 1);
            refresh();
            reject(signal!.reason);
          },
        };
        signal?.addEventListener('abort', w.onAbort, { once: true });
        waiters.push(w);
        refresh();
      });
    },
    release(buf) {
      giveBack(slotFor(buf));
    },
    update(id, path, start, end) {
      if (end > start) worker.postMessage({ op: 'update', id, path, start, end });
    },
    updateData(id, buf, length) {
      const slot = slotFor(buf);
      if (length === 0) return giveBack(slot);
      worker.postMessage({ op: 'data', id, slot, offset: buf.byteOffset, length });
    },
    digest(id) {
      if (dead) return Promise.reject(new ApiError('internal_error', `Hash worker died: ${(dead as Error).message}`));
      if (waiting.has(id)) return Promise.reject(new ApiError('internal_error', `Hash job ${id} already awaited`));
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        refresh();
        worker.postMessage({ op: 'digest', id });
      });
    },
    drop(id) {
      worker.postMessage({ op: 'drop', id });
    },
    async close() {
      await worker.terminate();
    },
  };
}
