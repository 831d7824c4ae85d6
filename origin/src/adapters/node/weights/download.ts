/**
 * The parallel, resumable, verifying blob downloader behind `syncModel` (Node I/O).
 *
 * Every missing file is split into parts; one bounded pool runs ranged GETs for all parts of all
 * files (so small files and large shards share the bandwidth), each part pinned to the object's
 * ETag with If-Match and retried with backoff on transient failures. A part streams through a
 * small ring of chunk buffers to its offset in a preallocated temp file (part-sink.ts), with
 * O_DIRECT or through the page cache (write-path.ts); the part map is persisted behind it (crash → resume). A connection takes its
 * next part as soon as a body has arrived; the last writes and the check finish in a spare slot.
 * A file becomes a blob only after it verifies and (for .safetensors) its header validates; then
 * it is fdatasynced and renamed into `blobs/` (why that is durable: README.md, "Writes").
 *
 * Verification, two ways:
 *   - the manifest lists part hashes (`files[].parts`): each part is checked on arrival, in any
 *     order. With leaf part hashes
 *     (`parts.leaf`), full chunks' leaves from every part in flight are hashed four abreast
 *     (leaf-hash.ts); with plain ones, each socket read is hashed as it lands. A part that
 *     mismatches is fetched once more, then refused. (Hashing whole files in order from 16 MiB part buffers, the first design, reached
 *     55–65% of a bare fetcher here: the buffers' memory traffic slowed the server's own copies,
 *     and parts landing ahead of the hash cursor had to wait.)
 *   - whole-file sha256 only (DESIGN's minimal manifest): parts go through the page cache, and a
 *     worker hashes each file's completed prefix as it grows (hasher.ts).
 * Parts kept from an interrupted run are re-hashed from disk before they count; with part hashes a
 * torn part is simply fetched again, without them the file restarts if its digest fails.
 */
import { setMaxListeners } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '#shared/errors.ts';
import type { FileParts } from '#shared/manifest.ts';
import { createLimiter, mapLimit } from '../../../weights/concurrency-limit.ts';
import { type DownloadItem, type DownloadStats, dedupe, type PartRetry } from '../../../weights/download-plan.ts';
import { createLeafBatcher, type Sha256Batch } from '../../../weights/leaf-batcher.ts';
import { type ObjectPin, openPin, type PinTarget } from '../../../weights/object-pin.ts';
import { type ObjectStore, objectUrl } from '../../../weights/object-store.ts';
import { type Part, planParts } from '../../../weights/part-map.ts';
import type { WriteMode } from '../../../weights/sync-options.ts';
import type { DirectIo } from './direct-io.ts';
import { fetchPart } from './fetch-part.ts';
import type { Hasher } from './hasher.ts';
import { checkSafetensorsFile, isSafetensors } from './local-files.ts';
import { createPartMapWriter, loadPartMap } from './part-map-file.ts';
import { blobPath, fsyncDir, type StoreLayout } from './store.ts';
import { openWritePath } from './write-path.ts';

/** What to download and where to, plus how each part is retried and reported (PartRetry). */
export interface DownloadOptions extends PartRetry {
  s3: ObjectStore;
  bucket: string;
  layout: StoreLayout;
  items: DownloadItem[];
  /** Part size for files without part hashes (the others use the manifest's). */
  partSize: number;
  concurrency: number;
  hasher: Hasher;
  /** fdatasync each blob before it is renamed into place (default true). */
  fsync?: boolean;
  /** How parts reach the disk (write-path.ts): `auto` (default) is O_DIRECT until it makes the download wait. */
  writes?: WriteMode;
  /** Batch SHA-256 for leaf manifests (leaf-batcher.ts); null or absent: each read is hashed as it lands. */
  sha256Batch?: Sha256Batch | null;
  signal?: AbortSignal;
  /** Bytes already on disk from an interrupted run, reported once per file at start. */
  onResumed?: (n: number) => void;
}

/**
 * Parts that may be finishing (last writes, digest check) while `concurrency` others hold the
 * connections: a connection moves on to its next part as soon as a body has arrived. Holding it
 * until the part's writes and map had landed left connections idle 15–25% of the time at
 * ~1 GiB/s (O_DIRECT writes queue in the threadpool for 5–20 ms); with 4 slots they stay busy
 * 96–100%, at 4 more rings (16 MiB).
 */
const FINISHING_SLOTS = 4;

interface FileJob {
  item: DownloadItem;
  where: string;
  tmp: string;
  mapFile: string;
  /** The object version every ranged GET is pinned to, and where to read it (object-pin.ts). */
  pin: ObjectPin;
  target: PinTarget;
  fh: fs.FileHandle;
  /** The same file opened with O_DIRECT (files with part hashes, where the filesystem allows). */
  dfh: fs.FileHandle | null;
  parts: Part[];
  done: Set<number>;
  resumedParts: number;
  /** Whole-file digest only: parts fed to the hasher so far (a prefix). */
  nextHash: number;
  /** Finishing has started (exactly once). */
  finished: boolean;
  flush: () => Promise<void>;
  /** Resolves when no part-map write is in flight. */
  mapIdle: () => Promise<void>;
}

/** Download, verify and store `items` as blobs. Throws the first fatal error (state kept for resume). */
export async function downloadBlobs(o: DownloadOptions): Promise<DownloadStats> {
  const stats: DownloadStats = { downloadedBytes: 0, resumedBytes: 0, retries: 0, writes: 'page-cache', writeStallShare: null };
  let pending = dedupe(o.items);
  // Round 2 only re-runs files verified by a whole-file digest whose *resumed* bytes failed it
  // (stale or torn parts from a crash), from scratch; a fresh download that fails is a real mismatch.
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
  // Files without part hashes are read back by the hasher: they stay in the page cache.
  const directable = items.reduce((a, i) => a + (i.parts ? i.size : 0), 0);
  const writes = await openWritePath(o.writes ?? 'auto', o.layout.tmp, directable, o.concurrency + FINISHING_SLOTS);
  const { direct, rings } = writes;
  const net = createLimiter(o.concurrency);
  try {
    const batcher = o.sha256Batch ? createLeafBatcher(o.sha256Batch) : null;
    jobs.push(...(await mapLimit(items, 8, (item) => openJob(o, item, allowResume, direct, ctl.signal))));
    for (const j of jobs) {
      const bytes = j.parts.filter((p) => j.done.has(p.index)).reduce((a, p) => a + p.end - p.start + 1, 0);
      stats.resumedBytes += bytes;
      if (bytes > 0) o.onResumed?.(bytes);
      advanceHash(o.hasher, j);
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
      finishing.push(
        finishJob(o, j).catch((err) => {
          if (j.resumedParts > 0 && !j.item.parts && err instanceof ApiError && err.code === 'unprocessable_entity') retryResumed.push(j.item);
          else fail(err);
        }),
      );
    };
    for (const j of jobs) if (j.parts.every((p) => j.done.has(p.index))) finishOne(j);
    const tasks = jobs.flatMap((j) => j.parts.filter((p) => !j.done.has(p.index)).map((p) => ({ j, p })));
    await mapLimit(tasks, o.concurrency + FINISHING_SLOTS, async ({ j, p }) => {
      if (fatal !== null) return;
      const ring = rings.take();
      try {
        await fetchPart(o, { ring, batcher, writes, net }, j, p, stats, ctl.signal);
      } finally {
        rings.give(ring);
      }
      j.done.add(p.index);
      // The part map is bookkeeping for a crash: written behind the download (coalesced), not
      // waited for here. Waiting held a slot ~25 ms per part while O_DIRECT writes filled the
      // threadpool; a part whose record had not landed before a crash is fetched again.
      j.flush().catch(fail);
      advanceHash(o.hasher, j);
      if (j.done.size === j.parts.length) finishOne(j);
    }).catch(fail);
    await Promise.all(finishing);
    if (fatal !== null) throw (fatal as { err: unknown }).err;
    return retryResumed;
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
    for (const j of jobs) {
      await j.mapIdle();
      if (!j.finished) o.hasher.drop(j.tmp);
      await j.fh.close().catch(() => undefined);
      await j.dfh?.close().catch(() => undefined);
    }
    stats.writes = writes.used;
    stats.writeStallShare = writes.stallShare;
    // Every part has settled (mapLimit waits for all in flight): nothing uses the rings now.
    await writes.close();
  }
}

async function openJob(o: DownloadOptions, item: DownloadItem, allowResume: boolean, direct: DirectIo | null, signal: AbortSignal): Promise<FileJob> {
  const where = objectUrl(o.s3, o.bucket, item.key);
  const target: PinTarget = { ...o, item, where, signal };
  const pin = await openPin(target);
  const partSize = item.parts?.size ?? o.partSize;
  const tmp = path.join(o.layout.tmp, `${item.sha256}.part`);
  const mapFile = path.join(o.layout.tmp, `${item.sha256}.map.json`);
  const base = { sha256: item.sha256, size: item.size, partSize, etag: pin.etag };
  const map = allowResume ? await loadPartMap(mapFile, base) : null;
  const st = map ? await fs.stat(tmp).catch(() => null) : null;
  const resume = map !== null && st !== null && st.size === item.size;
  const fh = await fs.open(tmp, resume ? 'r+' : 'w+');
  if (!resume) await fh.truncate(item.size);
  // Without part hashes the hasher reads each part back: keep those in the page cache.
  const dfh = direct && item.parts ? await direct.open(tmp).catch(() => null) : null;
  const parts = planParts(item.size, partSize);
  const done = new Set(resume ? map.done.filter((i) => i < parts.length) : []);
  if (item.parts) await reverifyResumed(o.hasher, tmp, parts, item.parts, done);
  const writer = createPartMapWriter(mapFile, base, done);
  // A fresh file needs no map yet: without one, a restart starts it over, which is all an empty map says.
  if (resume && done.size !== map.done.length) await writer.flush();
  return {
    item,
    where,
    tmp,
    mapFile,
    pin,
    target,
    fh,
    dfh,
    parts,
    done,
    resumedParts: done.size,
    nextHash: 0,
    finished: false,
    flush: writer.flush,
    mapIdle: writer.idle,
  };
}

/** Parts an earlier run recorded count only if they still hash right (a crash can tear writes). */
async function reverifyResumed(h: Hasher, tmp: string, parts: Part[], fp: FileParts, done: Set<number>): Promise<void> {
  const checks = [...done].map(async (i) => {
    const p = parts[i]!;
    const id = `${tmp}#${i}`;
    h.update(id, tmp, p.start, p.end + 1, fp.leaf ?? null);
    if ((await h.digest(id)) !== fp.sha256[i]) done.delete(i);
  });
  await Promise.all(checks);
}

/** Whole-file digest only: feed the hasher every newly contiguous completed part, in file order. */
function advanceHash(h: Hasher, j: FileJob): void {
  if (j.item.parts) return;
  while (j.nextHash < j.parts.length && j.done.has(j.nextHash)) {
    const p = j.parts[j.nextHash]!;
    h.update(j.tmp, j.tmp, p.start, p.end + 1);
    j.nextHash++;
  }
}

async function finishJob(o: DownloadOptions, j: FileJob): Promise<void> {
  try {
    if (!j.item.parts) {
      const actual = await o.hasher.digest(j.tmp);
      if (actual !== j.item.sha256) {
        throw new ApiError(
          'unprocessable_entity',
          `sha256 mismatch for '${j.item.path}': ${j.where} has sha256 ${actual}, the manifest says ${j.item.sha256}; refusing it`,
        );
      }
    }
    if (isSafetensors(j.item.path)) await checkSafetensorsFile(j.tmp, `'${j.item.path}' (${j.where})`);
  } catch (err) {
    await discard(j);
    throw err;
  }
  if (o.fsync !== false) await j.fh.datasync();
  await j.dfh?.close();
  await j.fh.close();
  await fs.rename(j.tmp, blobPath(o.layout, j.item.sha256));
  await fsyncDir(o.layout.blobs);
  await j.mapIdle(); // a late map write must not recreate the map after it is removed
  await fs.rm(j.mapFile, { force: true });
}

async function discard(j: FileJob): Promise<void> {
  await j.mapIdle();
  await j.dfh?.close().catch(() => undefined);
  await j.fh.close().catch(() => undefined);
  await fs.rm(j.tmp, { force: true });
  await fs.rm(j.mapFile, { force: true });
}
