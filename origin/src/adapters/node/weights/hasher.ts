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
  // leaf set: the digest is sha256 over the sha256s of each leaf-byte leaf — PartDigest's leaf
  // form (leaf-hash.ts), restated in plain JS for the worker; hasher.test.ts checks they agree.
  if (!j) { j = { hash: createHash('sha256'), leaf: m.leaf || null, leafHash: null, inLeaf: 0, fd: null, error: null }; jobs.set(m.id, j); }
  const endLeaf = () => { j.hash.update(j.leafHash.digest()); j.leafHash = null; j.inLeaf = 0; };
  if (m.op === 'update') {
    if (j.error) return;
    try {
      if (j.fd === null) j.fd = fs.openSync(m.path, 'r');
      let pos = m.start;
      while (pos < m.end) {
        const want = Math.min(buf.length, m.end - pos, j.leaf ? j.leaf - j.inLeaf : buf.length);
        const n = fs.readSync(j.fd, buf, 0, want, pos);
        if (n <= 0) throw new Error('unexpected end of file at ' + pos);
        if (j.leaf) {
          (j.leafHash ||= createHash('sha256')).update(buf.subarray(0, n));
          j.inLeaf += n;
          if (j.inLeaf === j.leaf) endLeaf();
        } else j.hash.update(buf.subarray(0, n));
        pos += n;
      }
    } catch (e) { j.error = String(e && e.message || e); }
  } else if (m.op === 'digest') {
    if (j.fd !== null) fs.closeSync(j.fd);
    jobs.delete(m.id);
    if (!j.error && j.inLeaf > 0) endLeaf();
    parentPort.postMessage(j.error ? { op: 'digest', id: m.id, error: j.error } : { op: 'digest', id: m.id, hex: j.hash.digest('hex') });
  }
});
`;

export interface Hasher {
  /**
   * Hash bytes [start, end) of `path` next, in order, for job `id`. `leaf` (on a job's first
   * update) makes its digest the manifest's leaf form: sha256 over each `leaf`-byte leaf's sha256.
   */
  update(id: string, path: string, start: number, end: number, leaf?: number | null): void;
  /** The sha256 hex of everything fed to `id` so far (leaf form if asked); ends the job. */
  digest(id: string): Promise<string>;
  /** Forget a job (its file is being discarded). */
  drop(id: string): void;
  close(): Promise<void>;
}

/**
 * A hashing worker, started on first use (a sync of a manifest with part hashes and nothing to
 * resume never needs one, and booting a thread costs the CPU the download wants); `nice` lowers
 * its priority (Linux: per thread).
 */
export function createHasher(o: { nice?: number } = {}): Hasher {
  const waiting = new Map<string, { resolve: (hex: string) => void; reject: (e: Error) => void }>();
  let dead: Error | null = null;
  let started: Worker | null = null;
  // Idle, the worker must not keep a finished CLI process alive; while a digest is awaited it
  // must (its reply may be the only event left to come).
  const refresh = () => (waiting.size > 0 ? started?.ref() : started?.unref());
  const worker = (): Worker => {
    if (started) return started;
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { nice: o.nice ?? 0 } });
    w.on('message', (m: { op: string; id: string; hex?: string; error?: string }) => {
      const job = waiting.get(m.id);
      waiting.delete(m.id);
      refresh();
      if (!job) return;
      if (m.hex !== undefined) job.resolve(m.hex);
      else job.reject(new ApiError('internal_error', `Hashing failed: ${m.error}`));
    });
    w.on('error', (err) => {
      dead = err;
      for (const job of waiting.values()) job.reject(new ApiError('internal_error', `Hash worker died: ${err.message}`, { cause: err }));
      waiting.clear();
    });
    w.unref();
    return (started = w);
  };
  return {
    update(id, path, start, end, leaf) {
      if (end > start) worker().postMessage({ op: 'update', id, path, start, end, leaf: leaf ?? null });
    },
    digest(id) {
      if (dead) return Promise.reject(new ApiError('internal_error', `Hash worker died: ${(dead as Error).message}`));
      if (waiting.has(id)) return Promise.reject(new ApiError('internal_error', `Hash job ${id} already awaited`));
      return new Promise((resolve, reject) => {
        const w = worker();
        waiting.set(id, { resolve, reject });
        refresh();
        w.postMessage({ op: 'digest', id });
      });
    },
    drop(id) {
      started?.postMessage({ op: 'drop', id });
    },
    async close() {
      await started?.terminate();
    },
  };
}
