/**
 * Whole-file sha256 off the main thread. Parts of a file land out of order; the downloader feeds
 * this hasher contiguous byte ranges in file order as they become complete, and a worker thread
 * reads them back (from the page cache) and hashes them, so hashing overlaps the download instead
 * of serialising after it or stalling the event loop that drives the sockets.
 */
import { Worker } from 'node:worker_threads';
import { ApiError } from '#shared/errors.ts';

// Plain JS, evaluated as the worker's script: a .ts worker file would need a loader in every
// runtime that imports this module (tsx, vitest, node).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const jobs = new Map();
const buf = Buffer.allocUnsafe(4 << 20);
parentPort.on('message', (m) => {
  let j = jobs.get(m.id);
  if (m.op === 'drop') {
    if (j && j.fd !== null) fs.closeSync(j.fd);
    jobs.delete(m.id);
    return;
  }
  if (!j) { j = { hash: createHash('sha256'), fd: null, error: null }; jobs.set(m.id, j); }
  if (m.op === 'data') {
    if (!j.error) j.hash.update(new Uint8Array(m.data));
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
    parentPort.postMessage(j.error ? { id: m.id, error: j.error } : { id: m.id, hex: j.hash.digest('hex') });
  }
});
`;

export interface Hasher {
  /** Hash bytes [start, end) of `path` next, in order, for job `id` (read back from disk). */
  update(id: string, path: string, start: number, end: number): void;
  /**
   * Hash these bytes next for job `id`. The buffer's memory is transferred to the worker (no
   * copy), so the caller must not touch `data` afterwards; it must own its whole ArrayBuffer.
   */
  updateData(id: string, data: Buffer): void;
  /** The sha256 hex of everything fed to `id` so far; ends the job. */
  digest(id: string): Promise<string>;
  /** Forget a job (its file is being discarded). */
  drop(id: string): void;
  close(): Promise<void>;
}

/** Start a hashing worker; `close()` it when the sync ends. */
export function createHasher(): Hasher {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  const waiting = new Map<string, { resolve: (hex: string) => void; reject: (e: Error) => void }>();
  let dead: Error | null = null;
  worker.on('message', (m: { id: string; hex?: string; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (waiting.size === 0) worker.unref();
    if (!w) return;
    if (m.hex !== undefined) w.resolve(m.hex);
    else w.reject(new ApiError('internal_error', `Hashing failed: ${m.error}`));
  });
  worker.on('error', (err) => {
    dead = err;
    for (const w of waiting.values()) w.reject(new ApiError('internal_error', `Hash worker died: ${err.message}`, { cause: err }));
    waiting.clear();
  });
  // Idle, the worker must not keep a finished CLI process alive; while a digest is awaited it must.
  worker.unref();
  return {
    update(id, path, start, end) {
      if (end > start) worker.postMessage({ op: 'update', id, path, start, end });
    },
    updateData(id, data) {
      if (data.length === 0) return;
      if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) {
        // A pooled or sliced buffer cannot be transferred whole: copy the view.
        worker.postMessage({ op: 'data', id, data: new Uint8Array(data).buffer });
        return;
      }
      const ab = data.buffer as ArrayBuffer;
      worker.postMessage({ op: 'data', id, data: ab }, [ab]);
    },
    digest(id) {
      if (dead) return Promise.reject(new ApiError('internal_error', `Hash worker died: ${(dead as Error).message}`));
      if (waiting.has(id)) return Promise.reject(new ApiError('internal_error', `Hash job ${id} already awaited`));
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.ref();
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
