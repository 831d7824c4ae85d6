/**
 * syncModel (DESIGN §6): from an empty (or stale) disk to a verified, activated snapshot.
 * resolve ref → verified manifest → download what the content store lacks (download.ts) →
 * build `snapshots/<rev>/` → swap `current`. `current` moves only after every file verified, so a
 * failed sync leaves the node serving what it served before.
 */
import { z } from 'zod';
import { ApiError, fromZodError } from '#shared/errors.ts';
import { s3Keys, type Manifest } from '#shared/manifest.ts';
import { createHasher } from './hasher.ts';
import { nativeSha256Batch } from './leaf-hash.ts';
import { downloadBlobs, type DownloadItem } from './download.ts';
import { ModelId, RefName, RevisionId } from './names.ts';
import type { ObjectStore } from './object-store.ts';
import { fetchManifest, resolveRef } from './refs.ts';
import { RetryPolicy, realRetryDeps, type RetryDeps } from './retry.ts';
import { buildSnapshot, cleanStaleTemp, ensureLayout, hasBlob, readCurrent, setCurrent, storeLayout } from './store.ts';
import { withStoreLock } from './store-lock.ts';

const MiB = 1024 * 1024;

const SyncOptions = z
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
    partSize: z.number().int().min(1).max(256 * MiB).default(16 * MiB),
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
    /** O_DIRECT part writes where the filesystem supports them (direct-io.ts); false = page cache. */
    directIo: z.boolean().default(true),
    /**
     * Hash leaf manifests' leaves with the native SHA-NI batch where it is built and the CPU has
     * SHA-NI (leaf-hash.ts); false, or where it is not, node:crypto hashes each read as it lands.
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
  /** Was `current` moved by this call. */
  activated: boolean;
  seconds: number;
}

/** Sync `model` at `ref` (or a pinned `revision`) into `storeDir` and activate it. */
export async function syncModel(input: SyncInput): Promise<SyncResult> {
  const parsed = SyncOptions.safeParse(input);
  if (!parsed.success) throw fromZodError(parsed.error);
  const o = parsed.data;
  const { s3, signal } = input;
  const t0 = performance.now();
  const remote = { s3, bucket: o.bucket, model: o.model, ...(signal ? { signal } : {}) };
  const revision = o.revision ?? (await resolveRef({ ...remote, ref: o.ref! }));
  const manifest = await fetchManifest({ ...remote, revision });
  const layout = storeLayout(o.storeDir);
  await ensureLayout(layout);

  return withStoreLock(
    layout,
    async () => {
      await cleanStaleTemp(layout);
      const missing: DownloadItem[] = [];
      let reusedBytes = 0;
      for (const f of manifest.files) {
        if (await hasBlob(layout, f.sha256, f.size)) reusedBytes += f.size;
        else missing.push({ path: f.path, key: s3Keys.file(o.model, revision, f.path), size: f.size, sha256: f.sha256, ...(f.parts ? { parts: f.parts } : {}), ...(f.etag ? { etag: f.etag } : {}) });
      }
      const bytesTotal = missing.reduce((a, f) => a + f.size, 0);
      let bytesDone = 0;
      const progress = (phase: SyncProgress['phase']) =>
        input.onProgress?.({ phase, revision, bytesDone, bytesTotal, filesTotal: manifest.files.length, filesMissing: missing.length });
      progress('download');

      const hasher = createHasher({ nice: o.hashNice });
      let stats;
      try {
        stats = await downloadBlobs({
          s3, bucket: o.bucket, layout, items: missing, partSize: o.partSize, concurrency: o.concurrency,
          retry: o.retry, retryDeps: input.retryDeps ?? realRetryDeps, hasher, fsync: o.fsync, directIo: o.directIo,
          sha256Batch: o.nativeHash ? nativeSha256Batch() : null,
          ...(signal ? { signal } : {}),
          onBytes: (n) => {
            bytesDone += n;
            progress('download');
          },
          onResumed: (n) => {
            bytesDone += n;
            progress('download');
          },
        });
      } finally {
        await hasher.close();
      }

      progress('activate');
      const dir = await buildSnapshot(layout, manifest);
      const before = await readCurrent(layout).catch(() => null);
      if (o.activate && before !== revision) await setCurrent(layout, revision);
      progress('done');
      return {
        revision, dir, manifest, reusedBytes, ...stats,
        activated: o.activate && before !== revision,
        seconds: (performance.now() - t0) / 1000,
      };
    },
    signal ? { signal } : {},
  ).catch((err: unknown) => {
    if (err instanceof ApiError || !(err instanceof Error)) throw err;
    throw new ApiError('internal_error', `Sync of ${o.model}@${revision} into ${layout.root} failed: ${err.message}`, { cause: err });
  });
}
