/**
 * One part of a download streamed to disk (Node I/O): the RangeSink a download hands the reader.
 *
 * The body lands in a small ring of chunk buffers, and each full chunk is written at its file
 * offset (O_DIRECT where write-path.ts chose it and aligned) while the next one fills. With a leaf manifest and the native
 * batch hasher, a full chunk's leaves join the download's batch queue (weights/leaf-batcher.ts) and hash
 * four abreast while still in cache; otherwise each socket read is hashed the moment it lands
 * (also in cache: cheaper than hashing a 16 MiB part buffer afterwards, which comes back from
 * memory). When every chunk of the ring is waiting for the disk, `wrote` returns a promise and the reader pauses its socket: a slow disk slows the download
 * instead of growing memory. The ring is tiny (RING_CHUNKS × CHUNK_BYTES per connection: 1 MiB
 * chunks measured as fast as 2 MiB, 4 MiB ones slower), so the whole working set stays
 * cache-sized, which on a small node is what keeps the S3 endpoint's and our copies fast
 * (measured: see download.ts).
 */
import { createHash } from 'node:crypto';
import type fsp from 'node:fs/promises';
import { ApiError } from '#shared/errors.ts';
import type { LeafBatcher } from '../../../weights/leaf-batcher.ts';
import type { RangeSink } from '../../../weights/object-store.ts';
import { DIRECT_ALIGN, type DirectIo, writePart } from './direct-io.ts';
import { PartDigest } from './leaf-hash.ts';

/** Bytes per chunk buffer: the unit of a disk write (aligned, a multiple of DIRECT_ALIGN). */
export const CHUNK_BYTES = 1024 * 1024;
/** Chunks per ring: one filling while the others' writes are in flight. */
export const RING_CHUNKS = 4;

export type ChunkRing = Buffer[];

/**
 * The last pool's slab, kept a while for the next sync in this process (a rolling update, a
 * retry, the next revision). A fresh 32 MiB of ArrayBuffer per sync is "external memory
 * pressure" to V8: it ran two scavenges and a full mark-compact (8–22 ms, measured) right as the
 * download started, with every socket waiting. Dropped after SPARE_MS idle.
 */
let spare: Buffer | null = null;
let spareTimer: NodeJS.Timeout | null = null;
const SPARE_MS = 60_000;

function takeSlab(bytes: number): Buffer {
  const raw = spare !== null && spare.length === bytes + DIRECT_ALIGN ? spare : Buffer.allocUnsafeSlow(bytes + DIRECT_ALIGN);
  if (raw === spare) spare = null;
  return raw;
}

function keepSlab(raw: Buffer): void {
  spare = raw;
  if (spareTimer) clearTimeout(spareTimer);
  spareTimer = setTimeout(() => {
    spare = null;
    spareTimer = null;
  }, SPARE_MS);
  spareTimer.unref();
}

/**
 * `rings` rings (one per part in flight) carved from one slab: one alignment probe for all of
 * them (each probe is a synchronous direct write: one per chunk cost ~1 ms each before the first
 * byte). More rings are allocated if asked for. (Touching the slab up front to take its page
 * faults early measured no better: it only blocks the loop before the first request.)
 * `release` (once nothing uses the rings any more) keeps the main slab for the next pool.
 */
export interface RingPool {
  take(): ChunkRing;
  give(r: ChunkRing): void;
  /** Once nothing uses the rings any more: the main slab is kept for the next pool. */
  release(): void;
}

export function createRingPool(direct: DirectIo | null, rings: number): RingPool {
  const free: ChunkRing[] = [];
  let main: Buffer | null = null;
  const carve = (n: number) => {
    const bytes = n * RING_CHUNKS * CHUNK_BYTES;
    // DIRECT_ALIGN of slack so an aligned window of the whole slab exists (direct-io.ts).
    const raw = main === null ? takeSlab(bytes) : Buffer.allocUnsafeSlow(bytes + DIRECT_ALIGN);
    main ??= raw;
    const slab = direct?.window(raw, bytes) ?? raw.subarray(0, bytes);
    for (let r = 0; r < n; r++) {
      free.push(Array.from({ length: RING_CHUNKS }, (_, c) => slab.subarray((r * RING_CHUNKS + c) * CHUNK_BYTES, (r * RING_CHUNKS + c + 1) * CHUNK_BYTES)));
    }
  };
  carve(Math.max(1, rings));
  return {
    take() {
      if (free.length === 0) carve(1);
      return free.pop()!;
    },
    give: (r) => void free.push(r),
    release() {
      if (main !== null) keepSlab(main);
      main = null;
      free.length = 0;
    },
  };
}

export interface PartSink extends RangeSink {
  /** Wait for every write; returns the part's sha256 hex (null when not hashing). Throws a write error. */
  finish(): Promise<string | null>;
  /** Wait for writes in flight, ignoring their errors (before a retry reuses the ring, or on abort). */
  settle(): Promise<void>;
  /** The first write error, if any: a disk problem, never worth a network retry. */
  readonly error: unknown;
  /** How long the reader waited for a chunk whose write had not finished (the disk holding the download back). */
  readonly stalledMs: number;
}

export interface PartSinkOptions {
  ring: ChunkRing;
  /** Buffered handle (unaligned tails; every write when `direct` is null). */
  fh: fsp.FileHandle;
  direct: fsp.FileHandle | null;
  /** File offset of the part's first byte, and its length. */
  start: number;
  length: number;
  /** Digest the bytes as they land, in the manifest's scheme (leaf-hash.ts); null: don't hash. */
  digest: { leaf: number | null } | null;
  /**
   * The download's batch hasher. With it, and leaves that tile a chunk, each chunk's leaves are
   * queued as the chunk fills instead of hashing every socket read as it lands.
   */
  batcher: LeafBatcher | null;
}

export function createPartSink(o: PartSinkOptions): PartSink {
  const busy: (Promise<void> | null)[] = o.ring.map(() => null);
  const leaf = o.digest?.leaf ?? null;
  // Batched: whole leaves per chunk (part starts are leaf-aligned, chunks start every CHUNK_BYTES).
  const batcher = leaf !== null && o.batcher !== null && CHUNK_BYTES % leaf === 0 ? o.batcher : null;
  const streaming = o.digest !== null && batcher === null ? new PartDigest(leaf) : null;
  const leafDigests = batcher ? Buffer.alloc(32 * Math.ceil(o.length / leaf!)) : null;
  /** Per chunk: the ticket of its last queued leaf, which must be hashed before the chunk is reused. */
  const tickets = o.ring.map(() => 0);
  let lastTicket = 0;
  let leaves = 0;
  let cur = 0;
  let fill = 0;
  let pos = o.start;
  let received = 0;
  let error: unknown = null;
  let stalledMs = 0;
  const failed = () => Promise.reject(error);

  const flush = (): Promise<void> | void => {
    const c = cur;
    const chunk = o.ring[c]!;
    if (batcher) {
      for (let off = 0; off < fill; off += leaf!, leaves++) {
        lastTicket = batcher.add(chunk.subarray(off, Math.min(fill, off + leaf!)), leafDigests!.subarray(32 * leaves, 32 * leaves + 32));
      }
      tickets[c] = lastTicket;
    }
    const w = writePart(o.fh, o.direct, chunk, fill, pos)
      .catch((err: unknown) => {
        error ??= err;
      })
      .finally(() => {
        busy[c] = null;
      });
    busy[c] = w;
    pos += fill;
    fill = 0;
    cur = (cur + 1) % o.ring.length;
    // The next chunk is refilled from the next socket read: its leaves must be hashed by then.
    batcher?.ensure(tickets[cur]!);
    const next = busy[cur];
    if (next) {
      const t0 = performance.now();
      return next.then(() => {
        stalledMs += performance.now() - t0;
        return error === null ? undefined : failed();
      });
    }
  };

  return {
    get error() {
      return error;
    },
    get stalledMs() {
      return stalledMs;
    },
    buffer(max) {
      return o.ring[cur]!.subarray(fill, fill + Math.max(1, Math.min(max, CHUNK_BYTES - fill)));
    },
    wrote(n) {
      if (error !== null) return failed();
      const chunk = o.ring[cur]!;
      streaming?.update(chunk.subarray(fill, fill + n));
      fill += n;
      received += n;
      if (received > o.length) {
        error = new ApiError('internal_error', `part sink: ${received} bytes for a ${o.length}-byte part`);
        return failed();
      }
      if (fill === chunk.length || received === o.length) return flush();
    },
    async finish() {
      batcher?.ensure(lastTicket);
      await Promise.all(busy);
      if (error !== null) throw error;
      if (received !== o.length) throw new ApiError('internal_error', `part sink: ${received} of ${o.length} bytes arrived`);
      if (leafDigests) return createHash('sha256').update(leafDigests).digest('hex');
      return streaming ? streaming.digest() : null;
    },
    async settle() {
      // Queued leaves still point into this ring, which a retry is about to refill.
      batcher?.ensure(lastTicket);
      await Promise.all(busy);
    },
  };
}
