/**
 * The parallel, resumable, verifying blob downloader behind `syncModel` (Node I/O).
 *
 * Every missing file is split into parts; one bounded pool runs ranged GETs for all parts of all
 * files (so small files and large shards share the bandwidth), each part pinned to the object's
 * ETag with If-Match and retried with backoff on transient failures. A part lands in a
 * preallocated temp file at its offset, then the part map is persisted (crash → resume). As the
 * completed prefix of a file grows, a worker hashes it, so the final sha256 is ready moments
 * after the last byte. A file becomes a blob only after its sha256 and (for .safetensors) header
 * validate; then it is fsynced and renamed into `blobs/`.
 */
import { setMaxListeners } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '#shared/errors.ts';
import type { Hasher } from './hasher.ts';
import { openDirectIo, writePart, type DirectIo } from './direct-io.ts';
import { checkSafetensorsFile, isSafetensors } from './local-files.ts';
import { isRetryable, objectUrl, sameEtag, type ObjectStore } from './object-store.ts';
import { createPartMapWriter, loadPartMap, planParts, type Part } from './part-map.ts';
import { mapLimit } from './pool.ts';
import { withRetry, type RetryDeps, type RetryPolicy } from './retry.ts';
import { blobPath, fsyncDir, type StoreLayout } from './store.ts';

/** Completed parts that may wait in memory ahead of a file's hashing cursor. */
const HELD_AHEAD_PARTS = 4;

/**
 * Part buffers a download of `concurrency` connections needs: one per connection, plus room for
 * parts waiting ahead of the hash cursor, being written, or queued for the hasher. The hasher's
 * pool is capped at this (hasher.ts: fresh memory is expensive, and a cap is backpressure).
 */
export const partBuffersFor = (concurrency: number): number => concurrency + HELD_AHEAD_PARTS;

export interface DownloadItem {
  path: string;
  key: string;
  size: number;
  sha256: string;
}

export interface DownloadOptions {
  s3: ObjectStore;
  bucket: string;
  layout: StoreLayout;
  items: DownloadItem[];
  partSize: number;
  concurrency: number;
  retry: RetryPolicy;
  retryDeps: RetryDeps;
  hasher: Hasher;
  /** fsync each blob before it is renamed into place (default true). */
  fsync?: boolean;
  /**
   * Write parts with O_DIRECT where the filesystem allows it (default true; see direct-io.ts).
   * The hasher's buffers then need DIRECT_ALIGN bytes of slack beyond `partSize`.
   */
  directIo?: boolean;
  signal?: AbortSignal;
  /** Bytes received (negative when a failed part's bytes are given back). */
  onBytes?: (n: number) => void;
  /** Bytes already on disk from an interrupted run, reported once per file at start. */
  onResumed?: (n: number) => void;
  onRetry?: (err: unknown, item: DownloadItem, part: Part) => void;
}

export interface DownloadStats {
  downloadedBytes: number;
  resumedBytes: number;
  retries: number;
}

interface FileJob {
  item: DownloadItem;
  where: string;
  tmp: string;
  mapFile: string;
  etag: string;
  fh: fs.FileHandle;
  /** The same file opened with O_DIRECT, when available. */
  dfh: fs.FileHandle | null;
  parts: Part[];
  done: Set<number>;
  resumedParts: number;
  nextHash: number;
  /** Completed parts ahead of `nextHash`, kept in memory to hash without reading them back. */
  ready: Map<number, { buf: Buffer; len: number }>;
  /** Digest taken (the hasher job is over). */
  finished: boolean;
  flush: () => Promise<void>;
}

/** Download, verify and store `items` as blobs. Throws the first fatal error (state kept for resume). */
export async function downloadBlobs(o: DownloadOptions): Promise<DownloadStats> {
  const stats: DownloadStats = { downloadedBytes: 0, resumedBytes: 0, retries: 0 };
  let pending = dedupe(o.items);
  // Round 2 only re-runs files whose *resumed* bytes failed verification (stale or torn parts
  // from a crash), from scratch; a fresh download that fails verification is a real mismatch.
  for (let round = 0; round < 2 && pending.length > 0; round++) {
    pending = await runRound(o, pending, stats, round === 0);
  }
  return stats;
}

async function runRound(o: DownloadOptions, items: DownloadItem[], stats: DownloadStats, allowResume: boolean): Promise<DownloadItem[]> {
  const ctl = new AbortController();
  // Every request in flight listens on this signal (the SDK adds a listener per request).
  setMaxListeners(4 * o.concurrency + 16, ctl.signal);
  const onOuterAbort = () => ctl.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const jobs: FileJob[] = [];
  const retryResumed: DownloadItem[] = [];
  // Parts that land ahead of the hashing cursor wait in memory up to this budget; past it they
  // are hashed from disk instead (e.g. while one slow part is being retried), so one slow part
  // never holds the whole buffer pool.
  const mem = { held: 0, limit: HELD_AHEAD_PARTS * o.partSize };
  const direct = o.directIo === false ? null : await openDirectIo(o.layout.tmp);
  try {
    jobs.push(...(await mapLimit(items, 8, (item) => openJob(o, item, allowResume, direct, ctl.signal))));
    for (const j of jobs) {
      const bytes = j.parts.filter((p) => j.done.has(p.index)).reduce((a, p) => a + p.end - p.start + 1, 0);
      stats.resumedBytes += bytes;
      if (bytes > 0) o.onResumed?.(bytes);
      advanceHash(o.hasher, j, mem);
    }
    // The first fatal error wins; everything in flight is aborted and awaited before it is thrown.
    let fatal: { err: unknown } | null = null;
    const fail = (err: unknown) => {
      if (fatal === null) fatal = { err };
      ctl.abort(err);
    };
    const finishing: Promise<void>[] = [];
    const finishOne = (j: FileJob) => {
      // Several parts of one file can complete around the same await: finish it exactly once.
      if (j.finished) return;
      j.finished = true;
      finishing.push(finishJob(o, j).catch((err) => {
        if (j.resumedParts > 0 && err instanceof ApiError && err.code === 'unprocessable_entity') retryResumed.push(j.item);
        else fail(err);
      }));
    };
    for (const j of jobs) if (j.parts.every((p) => j.done.has(p.index))) finishOne(j);
    const tasks = jobs.flatMap((j) => j.parts.filter((p) => !j.done.has(p.index)).map((p) => ({ j, p })));
    // A part's bytes go to a disk stage (write, part map, hasher) while its connection slot
    // fetches the next part; at most `concurrency` parts wait for the disk at once.
    const landing = new Set<Promise<void>>();
    const land = async (j: FileJob, p: Part, buf: Buffer) => {
      const len = p.end - p.start + 1;
      try {
        await writePart(j.fh, j.dfh, buf, len, p.start);
      } catch (err) {
        o.hasher.release(buf);
        throw err;
      }
      j.done.add(p.index);
      if (p.index === j.nextHash || mem.held + len <= mem.limit) {
        j.ready.set(p.index, { buf, len });
        mem.held += len;
      } else {
        o.hasher.release(buf);
      }
      await j.flush();
      advanceHash(o.hasher, j, mem);
      if (j.done.size === j.parts.length) finishOne(j);
    };
    await mapLimit(tasks, o.concurrency, async ({ j, p }) => {
      if (fatal !== null) return;
      const buf = await fetchPart(o, direct, j, p, stats, ctl.signal);
      while (landing.size >= o.concurrency) await Promise.race(landing);
      const w: Promise<void> = land(j, p, buf)
        .catch(fail)
        .finally(() => landing.delete(w));
      landing.add(w);
    }).catch(fail);
    await Promise.all(landing);
    await Promise.all(finishing);
    if (fatal !== null) throw (fatal as { err: unknown }).err;
    return retryResumed;
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
    for (const j of jobs) {
      if (!j.finished) o.hasher.drop(j.tmp);
      await j.fh.close().catch(() => undefined);
      await j.dfh?.close().catch(() => undefined);
    }
    await direct?.close();
  }
}

async function openJob(o: DownloadOptions, item: DownloadItem, allowResume: boolean, direct: DirectIo | null, signal: AbortSignal): Promise<FileJob> {
  const where = objectUrl(o.s3, o.bucket, item.key);
  const head = await withRetry(() => o.s3.head(o.bucket, item.key, signal), {
    policy: o.retry, deps: o.retryDeps, isRetryable, signal,
  });
  if (!head) throw new ApiError('not_found', `Missing object ${where} (listed in the manifest as '${item.path}')`);
  if (head.size !== item.size) {
    throw new ApiError('unprocessable_entity', `Size mismatch for '${item.path}': ${where} has ${head.size} bytes, the manifest says ${item.size}`);
  }
  const tmp = path.join(o.layout.tmp, `${item.sha256}.part`);
  const mapFile = path.join(o.layout.tmp, `${item.sha256}.map.json`);
  const base = { sha256: item.sha256, size: item.size, partSize: o.partSize, etag: head.etag };
  const map = allowResume ? await loadPartMap(mapFile, base) : null;
  const st = map ? await fs.stat(tmp).catch(() => null) : null;
  const resume = map !== null && st !== null && st.size === item.size;
  const fh = await fs.open(tmp, resume ? 'r+' : 'w+');
  if (!resume) await fh.truncate(item.size);
  const dfh = direct ? await direct.open(tmp).catch(() => null) : null;
  const done = new Set(resume ? map.done : []);
  const writer = createPartMapWriter(mapFile, base, done);
  if (!resume) await writer.flush();
  const parts = planParts(item.size, o.partSize);
  return { item, where, tmp, mapFile, etag: head.etag, fh, dfh, parts, done, resumedParts: done.size, nextHash: 0, ready: new Map(), finished: false, flush: writer.flush };
}

async function fetchPart(o: DownloadOptions, direct: DirectIo | null, j: FileJob, p: Part, stats: DownloadStats, signal: AbortSignal): Promise<Buffer> {
  const len = p.end - p.start + 1;
  const pooled = await o.hasher.acquire(signal);
  const buf = direct?.window(pooled, o.partSize) ?? pooled;
  await withRetry(
    async () => {
      const r = await o.s3.readRange(o.bucket, j.item.key, { start: p.start, end: p.end, ifMatch: j.etag, signal, target: buf.subarray(0, len), onBytes: o.onBytes });
      // Stores that ignore If-Match (s3rver) still tell us which version they served.
      if (r.etag && !sameEtag(r.etag, j.etag)) throw new ApiError('conflict', `Object changed during download (ETag ${r.etag}, expected ${j.etag}): ${j.where}`);
      if (r.size !== j.item.size) throw new ApiError('conflict', `Object changed during download (size ${r.size}, expected ${j.item.size}): ${j.where}`);
    },
    {
      policy: o.retry,
      deps: o.retryDeps,
      signal,
      isRetryable: (err) => !signal.aborted && (!(err instanceof ApiError) || isRetryable(err)),
      onRetry: (err) => {
        stats.retries++;
        o.onRetry?.(err, j.item, p);
      },
    },
  ).catch((err) => {
    o.hasher.release(buf);
    if (err instanceof ApiError || signal.aborted) throw err;
    throw new ApiError('origin_unavailable', `Download of part ${p.index} of ${j.where} failed after ${o.retry.attempts} attempts: ${(err as Error).message}`, { cause: err });
  });
  stats.downloadedBytes += len;
  return buf;
}

/** Feed the hasher every newly contiguous completed part, in file order (from memory if held). */
function advanceHash(h: Hasher, j: FileJob, mem: { held: number }): void {
  while (j.nextHash < j.parts.length && j.done.has(j.nextHash)) {
    const p = j.parts[j.nextHash]!;
    const held = j.ready.get(p.index);
    if (held) {
      j.ready.delete(p.index);
      mem.held -= held.len;
      h.updateData(j.tmp, held.buf, held.len);
    } else {
      h.update(j.tmp, j.tmp, p.start, p.end + 1);
    }
    j.nextHash++;
  }
}

async function finishJob(o: DownloadOptions, j: FileJob): Promise<void> {
  const actual = await o.hasher.digest(j.tmp);
  try {
    if (actual !== j.item.sha256) {
      throw new ApiError('unprocessable_entity', `sha256 mismatch for '${j.item.path}': ${j.where} has sha256 ${actual}, the manifest says ${j.item.sha256}; refusing it`);
    }
    if (isSafetensors(j.item.path)) await checkSafetensorsFile(j.tmp, `'${j.item.path}' (${j.where})`);
  } catch (err) {
    await discard(j);
    throw err;
  }
  if (o.fsync !== false) await j.fh.sync();
  await j.dfh?.close();
  await j.fh.close();
  await fs.rename(j.tmp, blobPath(o.layout, j.item.sha256));
  await fsyncDir(o.layout.blobs);
  await fs.rm(j.mapFile, { force: true });
}

async function discard(j: FileJob): Promise<void> {
  await j.dfh?.close().catch(() => undefined);
  await j.fh.close().catch(() => undefined);
  await fs.rm(j.tmp, { force: true });
  await fs.rm(j.mapFile, { force: true });
}

/** One download per distinct content hash (two paths with the same bytes share a blob). */
function dedupe(items: DownloadItem[]): DownloadItem[] {
  const seen = new Map<string, DownloadItem>();
  for (const it of items) if (!seen.has(it.sha256)) seen.set(it.sha256, it);
  return [...seen.values()];
}
