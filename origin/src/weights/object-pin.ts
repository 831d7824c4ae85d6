/**
 * Which version of an object a download reads (pure logic over the ObjectStore port).
 *
 * Every ranged GET of a file is pinned to one ETag (If-Match, and each response's ETag compared,
 * for stores such as s3rver that ignore If-Match), so an object replaced mid-download is detected.
 * The pin comes from the manifest's `etag` when it has one — a HEAD per file would cost a round
 * trip before its first byte, and s3rver reads the whole object to answer one. A store that
 * disputes that pin before any response confirmed it (a mirror in another bucket, an identical
 * re-upload, a 404, a short object) is asked once by HEAD, for a clear error or a fresh pin; the
 * content is verified by its hashes either way. Once confirmed, a change fails the download.
 */
import { ApiError } from '#shared/errors.ts';
import { isRetryable, type ObjectStore, type RangeSink, sameEtag } from './object-store.ts';
import { type RetryDeps, type RetryPolicy, withRetry } from './retry.ts';

export interface ObjectPin {
  /** The ETag every ranged GET is pinned to. */
  etag: string;
  /** A response has confirmed `etag`. */
  confirmed: boolean;
  /** HEAD once and re-pin (manifest pins only; null once used). */
  repin: (() => Promise<void>) | null;
}

export interface PinTarget {
  s3: ObjectStore;
  bucket: string;
  item: { key: string; path: string; size: number; etag?: string };
  /** The object as error messages name it. */
  where: string;
  retry: RetryPolicy;
  retryDeps: RetryDeps;
  signal: AbortSignal;
}

/** The pin for a download: the manifest's ETag (HEAD only if disputed), else a HEAD's. */
export async function openPin(t: PinTarget): Promise<ObjectPin> {
  if (!t.item.etag) return { etag: await headEtag(t), confirmed: false, repin: null };
  const pin: ObjectPin = { etag: t.item.etag, confirmed: false, repin: null };
  let once: Promise<void> | null = null;
  pin.repin = () =>
    (once ??= headEtag(t).then((etag) => {
      pin.etag = etag;
      pin.repin = null;
    }));
  return pin;
}

/** HEAD the object: its ETag, after checking it exists with the manifest's size. */
async function headEtag(t: PinTarget): Promise<string> {
  const head = await withRetry(() => t.s3.head(t.bucket, t.item.key, t.signal), {
    policy: t.retry,
    deps: t.retryDeps,
    isRetryable,
    signal: t.signal,
  });
  if (!head) throw new ApiError('not_found', `Missing object ${t.where} (listed in the manifest as '${t.item.path}')`);
  if (head.size !== t.item.size) {
    throw new ApiError('unprocessable_entity', `Size mismatch for '${t.item.path}': ${t.where} has ${head.size} bytes, the manifest says ${t.item.size}`);
  }
  return head.etag;
}

/** One ranged GET pinned to `pin`; the response must confirm it. */
export async function readPinned(
  t: PinTarget,
  pin: ObjectPin,
  r: { start: number; end: number; sink: RangeSink; onBytes?: (n: number) => void },
): Promise<void> {
  const res = await t.s3.readRange(t.bucket, t.item.key, { ...r, ifMatch: pin.etag, signal: t.signal });
  if (res.etag && !sameEtag(res.etag, pin.etag))
    throw new ApiError('conflict', `Object changed during download (ETag ${res.etag}, expected ${pin.etag}): ${t.where}`);
  if (res.size !== t.item.size) throw new ApiError('conflict', `Object changed during download (size ${res.size}, expected ${t.item.size}): ${t.where}`);
  pin.confirmed = true;
}

/**
 * After a read pinned to `pinUsed` failed with `err`: should it run again because the pin moved?
 * Only while nothing confirmed the manifest's ETag; `repin` HEADs at most once per object.
 */
export async function repinned(pin: ObjectPin, pinUsed: string, err: unknown): Promise<boolean> {
  const disputed = err instanceof ApiError && (err.code === 'conflict' || err.code === 'not_found' || err.code === 'unprocessable_entity');
  if (!disputed || pin.confirmed) return false;
  if (pinUsed !== pin.etag) return true; // another part re-pinned meanwhile
  if (!pin.repin) return false;
  await pin.repin();
  return pinUsed !== pin.etag;
}

/** The object was re-pinned: run the part again with the new pin (not a failure). */
export class RepinnedError extends Error {}
