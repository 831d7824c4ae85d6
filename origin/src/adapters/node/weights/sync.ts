/**
 * syncModel (DESIGN §6): from an empty (or stale) disk to a verified, activated snapshot.
 * resolve ref → verified manifest → download what the content store lacks (download.ts) →
 * build `snapshots/<rev>/` → swap `current`. `current` moves only after every file verified, so a
 * failed sync leaves the node serving what it served before.
 */
import { ApiError, fromZodError } from '#shared/errors.ts';
import { planDownloads } from '../../../weights/download-plan.ts';
import { fetchManifest, resolveRef } from '../../../weights/refs.ts';
import { realRetryDeps } from '../../../weights/retry.ts';
import { type SyncInput, SyncOptions, type SyncProgress, type SyncResult } from '../../../weights/sync-options.ts';
import { downloadBlobs } from './download.ts';
import { createHasher } from './hasher.ts';
import { nativeSha256Batch } from './leaf-hash.ts';
import { buildSnapshot, cleanStaleTemp, ensureLayout, hasBlob, readCurrent, setCurrent, storeLayout } from './store.ts';
import { withStoreLock } from './store-lock.ts';

/** The sync's options, progress and result live in weights/sync-options.ts (pure); re-exported so a caller needs one import. */
export type { SyncInput, SyncProgress, SyncResult } from '../../../weights/sync-options.ts';

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
      const { missing, reusedBytes } = await planDownloads(manifest, o.model, revision, (sha256, size) => hasBlob(layout, sha256, size));
      const bytesTotal = missing.reduce((a, f) => a + f.size, 0);
      let bytesDone = 0;
      const progress = (phase: SyncProgress['phase']) =>
        input.onProgress?.({ phase, revision, bytesDone, bytesTotal, filesTotal: manifest.files.length, filesMissing: missing.length });
      progress('download');

      const hasher = createHasher({ nice: o.hashNice });
      let stats;
      try {
        stats = await downloadBlobs({
          s3,
          bucket: o.bucket,
          layout,
          items: missing,
          partSize: o.partSize,
          concurrency: o.concurrency,
          retry: o.retry,
          retryDeps: input.retryDeps ?? realRetryDeps,
          hasher,
          fsync: o.fsync,
          writes: o.writes,
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
        revision,
        dir,
        manifest,
        reusedBytes,
        ...stats,
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
