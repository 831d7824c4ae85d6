/**
 * What a sync is asked to do and what it reports (pure): the options `syncModel` validates
 * before it touches the network or the disk, its progress events and its result. The sync itself
 * (resolve → download → snapshot → activate) is adapters/node/weights/sync.ts.
 */
import { z } from 'zod';
import type { Manifest } from '#shared/manifest.ts';
import type { DownloadStats } from './download-plan.ts';
import { ModelId, RefName, RevisionId } from './names.ts';
import type { ObjectStore } from './object-store.ts';
import { type RetryDeps, RetryPolicy } from './retry.ts';

const MiB = 1024 * 1024;

export const WriteMode = z.enum(['auto', 'direct', 'page-cache']);
export type WriteMode = z.infer<typeof WriteMode>;

export const SyncOptions = z
  .object({
    bucket: z.string().min(1),
    model: ModelId,
    /** Channel to follow (e.g. `stable`); or pin `revision` instead. */
    ref: RefName.optional(),
    revision: RevisionId.optional(),
    storeDir: z.string().min(1),
    /**
     * Part size for files the manifest has no part hashes for (the others download in the
     * manifest's parts). 8–16 MiB: big enough to amortise request overhead, small enough to retry
     * cheaply.
     */
    partSize: z
      .number()
      .int()
      .min(1)
      .max(256 * MiB)
      .default(16 * MiB),
    concurrency: z.number().int().min(1).max(64).default(8),
    retry: RetryPolicy.default(RetryPolicy.parse({})),
    /** false: download and build the snapshot but leave `current` alone (staging). */
    activate: z.boolean().default(true),
    /**
     * fsync every blob before it enters the store (default). false trades crash safety for speed
     * on a slow disk: after a power loss a blob may be torn, and only `openLocalSnapshot(dir,
     * { deep: true })` would notice. For nodes that re-sync from scratch on boot.
     */
    fsync: z.boolean().default(true),
    /**
     * How parts reach the disk: `auto` (default) writes with O_DIRECT where the filesystem has it
     * and moves the rest of the download to the page cache once direct writes make it wait
     * (adapters/node/weights/write-path.ts); `direct` or `page-cache` fix it. Every blob is
     * fdatasynced before it enters the store either way (adapters/node/weights/README.md, "Writes").
     */
    writes: WriteMode.default('auto'),
    /**
     * Hash leaf manifests' leaves with the native SHA-NI batch where it is built and the CPU has
     * SHA-NI (adapters/node/weights/leaf-hash.ts); false, or where it is not, node:crypto hashes each read as it lands.
     */
    nativeHash: z.boolean().default(true),
    /**
     * Nice value of the thread that hashes from disk (resumed parts; files without part hashes).
     * A rolling update syncs while the engine serves, and the engine should win. 0 = normal.
     */
    hashNice: z.number().int().min(0).max(19).default(10),
  })
  .refine((o) => (o.ref === undefined) !== (o.revision === undefined), { message: 'give exactly one of ref or revision', path: ['ref'] });

export interface SyncProgress {
  phase: 'resolve' | 'download' | 'activate' | 'done';
  revision?: string;
  /** Bytes of files the store lacked, already on disk (resumed + received). */
  bytesDone: number;
  bytesTotal: number;
  filesTotal: number;
  filesMissing: number;
}

export interface SyncInput extends z.input<typeof SyncOptions> {
  s3: ObjectStore;
  onProgress?: (p: SyncProgress) => void;
  signal?: AbortSignal;
  /** Injected timers for retry backoff (tests). */
  retryDeps?: RetryDeps;
}

export interface SyncResult {
  revision: string;
  /** The snapshot dir (HF-style model dir); stable even when `current` later moves on. */
  dir: string;
  manifest: Manifest;
  /** Bytes received this run (retried bytes counted once). */
  downloadedBytes: number;
  /** Bytes already in the store as verified blobs. */
  reusedBytes: number;
  /** Bytes kept from an interrupted earlier run. */
  resumedBytes: number;
  retries: number;
  /** How parts reached the disk this run, and the share of direct parts' time spent waiting for it. */
  writes: DownloadStats['writes'];
  writeStallShare: number | null;
  /** Was `current` moved by this call. */
  activated: boolean;
  seconds: number;
}
