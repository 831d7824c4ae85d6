/**
 * Follow a weights ref: poll it (weights/watch.ts) and hand every new revision to the rollout.
 * A revision that failed, or is backing off, is not marked as seen, so the next poll offers it
 * again; polls never overlap an update in progress. Poll errors (S3 unreachable, a bad ref) are
 * logged once per distinct message, not every interval.
 */
import { ApiError } from '#shared/errors.ts';
import type { ObjectStore } from '../weights/object-store.ts';
import { type RefWatcher, watchRef } from '../weights/watch.ts';
import type { Rollout } from './rolling-update.ts';

export interface FollowRefOptions {
  rollout: Rollout;
  s3: ObjectStore;
  bucket: string;
  model: string;
  ref: string;
  intervalMs: number;
  log?: (line: string) => void;
}

// Thrown back into the watcher so it keeps offering the revision; never escapes this module.
const RETRY_LATER = new ApiError('conflict', 'revision not applied yet; offered again on the next poll');

/** Start following; `stop()` ends the polling (an update in progress is the rollout's to stop). */
export function followRef(o: FollowRefOptions): RefWatcher {
  const log = o.log ?? (() => {});
  let lastError = '';
  log(`rollout: following ${o.model}@${o.ref} every ${o.intervalMs} ms (serving ${o.rollout.revision})`);
  return watchRef({
    s3: o.s3,
    bucket: o.bucket,
    model: o.model,
    ref: o.ref,
    intervalMs: o.intervalMs,
    initial: o.rollout.revision,
    async onNewRevision(revision) {
      lastError = '';
      // Failures are logged (and counted) by the rollout itself.
      const result = await o.rollout.update(revision).catch(() => 'failed' as const);
      if (result === 'failed' || result === 'deferred') throw RETRY_LATER;
    },
    onError(err) {
      if (err === RETRY_LATER) return;
      const msg = (err as Error).message;
      if (msg !== lastError) log(`rollout: polling ${o.model}@${o.ref} failed: ${msg} (retrying every ${o.intervalMs} ms)`);
      lastError = msg;
    },
  });
}
