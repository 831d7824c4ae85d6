/**
 * One part of a download (Node I/O): a ranged GET pinned to the object's ETag, streamed through a
 * part sink to its file offset, checked against the manifest's part hash, retried with backoff —
 * a mismatching part once more, then refused by name. Only the GET holds a connection place
 * (`io.net`); the last writes and the check run after it has been handed on.
 */

import type fs from 'node:fs/promises';
import { ApiError } from '#shared/errors.ts';
import type { createLimiter } from '../../../weights/concurrency-limit.ts';
import type { DownloadItem, DownloadStats, PartRetry } from '../../../weights/download-plan.ts';
import type { LeafBatcher } from '../../../weights/leaf-batcher.ts';
import { type ObjectPin, type PinTarget, RepinnedError, readPinned, repinned } from '../../../weights/object-pin.ts';
import { isRetryable } from '../../../weights/object-store.ts';
import type { Part } from '../../../weights/part-map.ts';
import { withRetry } from '../../../weights/retry.ts';
import { type ChunkRing, createPartSink } from './part-sink.ts';
import type { WritePath } from './write-path.ts';

/** The file a part belongs to: what it is, where it is read from, the temp file it lands in. */
export interface PartFile {
  item: DownloadItem;
  where: string;
  tmp: string;
  pin: ObjectPin;
  target: PinTarget;
  fh: fs.FileHandle;
  dfh: fs.FileHandle | null;
}

export async function fetchPart(o: PartRetry, io: PartIo, j: PartFile, p: Part, stats: DownloadStats, signal: AbortSignal): Promise<void> {
  const len = p.end - p.start + 1;
  const expected = j.item.parts?.sha256[p.index] ?? null;
  let mismatches = 0;
  await withRetry(
    async () => {
      const scheme = expected !== null ? { leaf: j.item.parts!.leaf ?? null } : null;
      const direct = io.writes.useDirect ? j.dfh : null;
      const sink = createPartSink({ ring: io.ring, fh: j.fh, direct, start: p.start, length: len, digest: scheme, batcher: io.batcher });
      let digest: string | null;
      const pinUsed = j.pin.etag;
      try {
        // Timed from the request, not from the wait for a free connection: the stall share is of transfer time.
        let t0 = 0;
        await io.net.run(() => {
          t0 = performance.now();
          return readPinned(j.target, j.pin, { start: p.start, end: p.end, sink, onBytes: o.onBytes });
        });
        digest = await sink.finish();
        io.writes.partDone(len, performance.now() - t0, sink.stalledMs, direct !== null);
      } catch (err) {
        await sink.settle();
        // A disk error surfaces through the reader as a broken connection: name it for what it is.
        if (sink.error !== null) throw new DiskError(j.tmp, sink.error);
        if (!signal.aborted && (await repinned(j.pin, pinUsed, err))) throw new RepinnedError();
        throw err;
      }
      if (expected !== null && digest !== expected) {
        mismatches++;
        o.onBytes?.(-len);
        throw new PartMismatch(
          `sha256 mismatch for '${j.item.path}' part ${p.index} (bytes ${p.start}-${p.end}): ${j.where} has sha256 ${digest}, the manifest says ${expected}; refusing it`,
        );
      }
    },
    {
      policy: o.retry,
      deps: o.retryDeps,
      signal,
      // A mismatching part is fetched once more (bytes can be damaged on the way); twice is the object.
      isRetryable: (err) => {
        if (signal.aborted || err instanceof DiskError) return false;
        if (err instanceof RepinnedError) return true;
        if (err instanceof PartMismatch) return mismatches < 2;
        return !(err instanceof ApiError) || isRetryable(err);
      },
      onRetry: (err) => {
        stats.retries++;
        o.onRetry?.(err, j.item, p);
      },
    },
  ).catch((err) => {
    if (err instanceof DiskError) throw new ApiError('internal_error', err.message, { cause: err.reason });
    if (err instanceof ApiError || signal.aborted) throw err;
    throw new ApiError('origin_unavailable', `Download of part ${p.index} of ${j.where} failed after ${o.retry.attempts} attempts: ${(err as Error).message}`, {
      cause: err,
    });
  });
  stats.downloadedBytes += len;
}

/** What one part in flight works with: its ring, the download's leaf batcher, write path and connection limiter. */
export interface PartIo {
  ring: ChunkRing;
  batcher: LeafBatcher | null;
  writes: Pick<WritePath, 'useDirect' | 'partDone'>;
  net: ReturnType<typeof createLimiter>;
}

/** A part whose bytes do not hash to the manifest's part sha256. */
class PartMismatch extends ApiError {
  constructor(message: string) {
    super('unprocessable_entity', message);
  }
}

class DiskError extends Error {
  constructor(
    file: string,
    readonly reason: unknown,
  ) {
    super(`Writing ${file} failed: ${(reason as Error)?.message ?? String(reason)}`);
  }
}
