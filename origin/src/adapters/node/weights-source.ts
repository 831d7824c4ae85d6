/**
 * The origin's weights step: a local model dir as is, or `syncModel` from S3 into the local
 * content store. When S3 cannot be reached (or the sync fails) but the store already holds a
 * verified snapshot of the model, the origin serves that snapshot and says so: a restart during
 * an S3 outage must not take a replica down.
 */
import { resolve } from 'node:path';
import type { ServedWeights } from '../../ports.ts';
import { createS3Client } from '../s3/index.ts';
import { openLocalSnapshot } from './weights/local-snapshot.ts';
import { type SyncProgress, syncModel } from './weights/sync.ts';

/** Where the weights come from (the origin config's `weights`). */
export type WeightsSource = { kind: 'dir'; dir: string } | { kind: 's3'; s3: Parameters<typeof createS3Client>[0]; ref: string; storeDir: string };

/** Resolve the weights to serve for `model` from `source`. */
export async function prepareWeights(model: string, source: WeightsSource, log: (line: string) => void): Promise<ServedWeights> {
  if (source.kind === 'dir') {
    const dir = resolve(source.dir);
    log(`weights: serving the local model dir ${dir}`);
    return { dir, revision: 'local' };
  }
  const storeDir = resolve(source.storeDir);
  const s3 = createS3Client(source.s3);
  try {
    const where = `${source.s3.endpoint ?? 'aws'}/${source.s3.bucket}`;
    log(`weights: syncing ${model}@${source.ref} from ${where} into ${storeDir}`);
    const res = await syncModel({ s3, bucket: source.s3.bucket, model, ref: source.ref, storeDir, onProgress: progressLogger(log) });
    log(
      `weights: revision ${res.revision} ready (${res.downloadedBytes} bytes downloaded, ${res.reusedBytes} reused, writes: ${res.writes}) in ${res.seconds.toFixed(1)} s`,
    );
    return { dir: res.dir, revision: res.revision };
  } catch (err) {
    const snap = await openLocalSnapshot(storeDir).catch(() => null);
    if (!snap || snap.model !== model) throw err;
    log(`weights: sync from S3 failed (${(err as Error).message}); serving the local snapshot ${snap.revision} from ${snap.dir}`);
    return { dir: snap.dir, revision: snap.revision };
  } finally {
    s3.destroy();
  }
}

/** Log at phase changes and every 10 % of a download, not per part. */
export function progressLogger(log: (line: string) => void): (p: SyncProgress) => void {
  let lastPhase = '';
  let lastDecile = -1;
  return (p) => {
    const decile = p.bytesTotal > 0 ? Math.floor((10 * p.bytesDone) / p.bytesTotal) : 10;
    if (p.phase === lastPhase && (p.phase !== 'download' || decile === lastDecile)) return;
    lastPhase = p.phase;
    lastDecile = decile;
    if (p.phase === 'download' && p.filesMissing > 0)
      log(`weights: download ${decile * 10}% (${p.bytesDone}/${p.bytesTotal} bytes, ${p.filesMissing} of ${p.filesTotal} files)`);
    else if (p.phase !== 'download') log(`weights: ${p.phase}${p.revision ? ` ${p.revision}` : ''}`);
  };
}
