/**
 * How a download's parts reach the disk (Node I/O): O_DIRECT, falling back to the page cache for
 * the rest of the download once direct writes are seen to make it wait.
 *
 * Neither mode wins everywhere, and which one does is a property of the host:
 *   - On one VM, O_DIRECT writes from the download's chunk buffers took 10–15 ms per 1 MiB
 *     request (70–150 MiB/s) while page-cache writeback issued 2–3 MiB requests at a fraction of
 *     the device's time: the socket sat paused on a full ring, and the page cache was 3–5× faster.
 *   - On another VM of the same kind, the guest hands freed memory back to the host (virtio-balloon
 *     free page reporting), so the host faults in every page the page cache takes, on first touch,
 *     inside the kernel's copy: `dd` of 1 GiB through the page cache cost 1.6–1.9 s of system time
 *     on such pages and 0.2 s on pages just freed. There a verifying sync spent 4 ms of CPU per
 *     MiB (half of it in `copy_folio_from_iter_atomic`) and reached 43% of the serving limit,
 *     against 1.1 ms and ~85% with O_DIRECT, which takes no page and copies nothing.
 * A short probe before the download cannot tell these apart: a few MiB written to the page cache
 * land on pages some earlier file just freed, so they look cheap however the download would fare.
 * What the download itself shows can: O_DIRECT costs nothing extra unless the reader waits for
 * it. So `auto` writes with O_DIRECT, keeps count of how long parts waited for a free chunk
 * (part-sink.ts `stalledMs`) and, once enough bytes say the wait is real, writes every later part
 * through the page cache. Parts already written stay as they are (direct and buffered writes to
 * disjoint ranges of a file are coherent); every blob is fdatasynced before it enters the store
 * either way (README.md, "Writes").
 */
import type { WritesUsed } from '../../../weights/download-plan.ts';
import type { WriteMode } from '../../../weights/sync-options.ts';
import { type DirectIo, openDirectIo } from './direct-io.ts';
import { createRingPool, type RingPool } from './part-sink.ts';

/**
 * Direct bytes written before the wait is judged: enough parts that a burst of slow writes (a
 * shared host's disk has latency spikes of its own) is not a verdict. A wrong fall-back is
 * expensive where the page cache is the slow path.
 */
export const JUDGE_AFTER_BYTES = 256 * 1024 * 1024;
/**
 * Share of direct parts' transfer time spent waiting for the disk above which O_DIRECT is
 * dropped: the disk at least halves the download. Where O_DIRECT fitted the host, parts waited
 * 0–3.5% of their time (cumulative after 256 MiB: 0–3.1%); where it did not, the socket sat
 * paused most of the time.
 */
export const MAX_STALL_SHARE = 0.5;

export interface WritePath {
  /** The O_DIRECT handle factory files open with (null: the page cache only). */
  readonly direct: DirectIo | null;
  /** The download's chunk rings (aligned for O_DIRECT when it is open). */
  readonly rings: RingPool;
  /** Should the next part write through O_DIRECT. */
  readonly useDirect: boolean;
  /** A part finished: its bytes, how long it took and how long its writes kept the reader waiting. */
  partDone(bytes: number, partMs: number, stalledMs: number, wasDirect: boolean): void;
  readonly used: WritesUsed;
  /** Share of direct parts' time spent waiting for the disk (null: no direct part finished). */
  readonly stallShare: number | null;
  close(): Promise<void>;
}

/**
 * Open the download's write path in `dir` (the store's tmp/) with `rings` chunk rings. `direct`
 * never falls back; `auto` does (above); both use the page cache where the filesystem has no
 * O_DIRECT. `bytes` = 0 (every file is read back by the whole-file hasher, which wants the page
 * cache) opens no direct handle.
 */
export async function openWritePath(mode: WriteMode, dir: string, bytes: number, rings: number): Promise<WritePath> {
  const dio = mode === 'page-cache' || bytes === 0 ? null : await openDirectIo(dir);
  const pool = createRingPool(dio, rings);
  let useDirect = dio !== null;
  let fellBack = false;
  let directBytes = 0;
  let partMs = 0;
  let stalledMs = 0;
  return {
    direct: dio,
    rings: pool,
    get useDirect() {
      return useDirect;
    },
    partDone(n, ms, stalled, wasDirect) {
      if (!wasDirect) return;
      directBytes += n;
      partMs += ms;
      stalledMs += stalled;
      if (mode === 'auto' && useDirect && directBytes >= JUDGE_AFTER_BYTES && stalledMs > MAX_STALL_SHARE * partMs) {
        useDirect = false;
        fellBack = true;
      }
    },
    get used() {
      return fellBack ? 'direct, then page-cache' : useDirect ? 'direct' : 'page-cache';
    },
    get stallShare() {
      return partMs > 0 ? stalledMs / partMs : null;
    },
    async close() {
      pool.release();
      await dio?.close();
    },
  };
}
