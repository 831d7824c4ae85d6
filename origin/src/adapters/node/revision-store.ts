/**
 * The rollout's view of the node's content store (rollout/ports.ts) over the weights pipeline:
 * stage = `syncModel` of one pinned revision with `activate: false` (ranged GETs, resume, sha256
 * and safetensors checks), lease = a lease file per replica, activate = the `current` link moved
 * under the store lock, collect = `gcStore` (keeps current and leased revisions).
 */
import path from 'node:path';
import { ApiError } from '#shared/errors.ts';
import type { RevisionLease, RevisionStore, StagedRevision } from '../../ports.ts';
import type { ObjectStore } from '../../weights/object-store.ts';
import { gcStore } from './weights/gc.ts';
import { isComplete, setCurrent, storeLayout } from './weights/store.ts';
import { acquireLease, withStoreLock } from './weights/store-lock.ts';
import { syncModel } from './weights/sync.ts';
import { progressLogger } from './weights-source.ts';

export interface StoreRevisionsOptions {
  s3: ObjectStore;
  bucket: string;
  model: string;
  storeDir: string;
  /** Who holds leases (the replica id): one lease file per replica and revision. */
  holder: string;
  log?: (line: string) => void;
}

/** Weight files count for memory; tokenizer and config files do not. */
const isWeightFile = (p: string) => p.endsWith('.safetensors');

/** A RevisionStore on the local content store at `storeDir`, fed from S3. */
export function createStoreRevisions(o: StoreRevisionsOptions): RevisionStore {
  const storeDir = path.resolve(o.storeDir);
  const layout = storeLayout(storeDir);
  const log = o.log ?? (() => {});
  return {
    async stage(revision, signal): Promise<StagedRevision> {
      const res = await syncModel({
        s3: o.s3,
        bucket: o.bucket,
        model: o.model,
        revision,
        storeDir,
        activate: false,
        signal,
        onProgress: progressLogger(log),
      });
      log(
        `weights: revision ${revision} staged (${res.downloadedBytes} bytes downloaded, ${res.reusedBytes} reused, writes: ${res.writes}) in ${res.seconds.toFixed(1)} s`,
      );
      const weightBytes = res.manifest.files.filter((f) => isWeightFile(f.path)).reduce((a, f) => a + f.size, 0);
      return { revision, dir: res.dir, weightBytes };
    },
    async lease(revision): Promise<RevisionLease> {
      const lease = await acquireLease(storeDir, revision, o.holder);
      let released: Promise<void> | undefined;
      return { release: () => (released ??= lease.release()) };
    },
    async activate(revision) {
      await withStoreLock(layout, async () => {
        if (!(await isComplete(layout, revision))) throw new ApiError('not_found', `Store ${storeDir} has no complete snapshot of ${revision}`);
        await setCurrent(layout, revision);
      });
    },
    async collect() {
      const r = await gcStore(storeDir);
      log(
        `weights: gc kept ${r.kept.join(', ') || 'nothing'}; removed revision(s) ${r.removedRevisions.join(', ') || 'none'} and ${r.removedBlobs.length} blob(s), ${r.freedBytes} bytes`,
      );
    },
  };
}
