/**
 * sha256 of byte ranges read back from disk, off the main thread (Node I/O).
 *
 * Parts a manifest lists hashes for are hashed as they arrive (part-sink.ts). This worker hashes
 * what is already on disk instead: parts kept from an interrupted run (re-verified before they
 * are trusted: a crash can tear the last writes), and files whose manifest entry has only a
 * whole-file sha256 — fed in file order as their completed prefix grows, so the digest is ready
 * moments after the last byte. Those files are written through the page cache, so the read back
 * is a memory copy, not a disk read.
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
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', (m) => {
  let j = jobs.get(m.id);
  if (m.op === 'drop') {
    if (j && j.fd !== null) fs.closeSync(j.fd);
    jobs.delete(m.id);
    return;
  }
  if (!j) { j = { hash: createHash('sha256'), fd: null, error: null }; jobs.set(m.id, j); }
  if (m.op === 'update') {
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
  /** Hash bytes [start, end) of `path` next, in order, for job `id`. */
  update(id: string, path: string, start: number, end: number): void;
  /** The sha256 hex of everything fed to `id` so far; ends the job. */
  digest(id: string): Promise<string>;
  /** Forget a job (its file is being discarded). */
  drop(id: string): void;
  close(): Promise<void>;
}

/** Start a hashing worker; `nice` lowers its priority (Linux: per thread). */
export function createHasher(o: { nice?: number } = {}): Hasher {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { nice: o.nice ?? 0 } });
  const waiting = new Map<string, { resolve: (hex: string) => void; reject: (e: Error) => void }>();
  // Idle, the worker must not keep a finished CLI process alive; while a digest is awaited it
  // must (its reply may be the only event left to come).
  const refresh = () => (waiting.size > 0 ? worker.ref() : worker.unref());
  let dead: Error | null = null;
  worker.on('message', (m: { op: string; id: string; hex?: string; error?: string }) => {
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
  });
  worker.unref();
  return {
    update(id, path, start, end) {
      if (end > start) worker.postMessage({ op: 'update', id, path, start, end });
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
