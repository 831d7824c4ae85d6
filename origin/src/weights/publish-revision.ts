/**
 * Publishing a hashed revision to the bucket (pure over the ObjectStore port; DESIGN §6): upload
 * only what the bucket does not already hold (HEAD size + sha256 metadata), write the manifest
 * (an existing valid one is kept), and move the ref last so a reader never follows a ref to a
 * half-published revision. Re-publishing identical content uploads nothing. Walking and hashing
 * the local directory, and reading the bytes, is adapters/node/weights/publish.ts.
 */
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import { type Manifest, type ManifestFile, s3Keys } from '#shared/manifest.ts';
import { mapLimit } from './concurrency-limit.ts';
import { parseManifest } from './manifest-check.ts';
import { ModelId, RefName } from './names.ts';
import type { ObjectStore } from './object-store.ts';
import { writeRef } from './refs.ts';

export interface PublishProgress {
  phase: 'hash' | 'upload';
  file: string;
  bytesDone: number;
  bytesTotal: number;
}

export const PublishOptions = z
  .object({
    bucket: z.string().min(1),
    model: ModelId,
    fromDir: z.string().min(1),
    ref: RefName.optional(),
    /** Objects uploaded at once (each also uploads up to 4 parts in parallel). */
    concurrency: z.number().int().min(1).max(64).default(4),
    partSize: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .max(512 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    /**
     * Size of the parts the manifest lists sha256s for (`files[].parts`): the unit a sync fetches
     * and verifies as it lands. A multiple of 4 KiB (direct-I/O alignment of part starts); null
     * publishes DESIGN's minimal manifest (whole-file sha256 only).
     */
    hashPartSize: z
      .number()
      .int()
      .min(4096)
      .max(256 * 1024 * 1024)
      .multipleOf(4096)
      .nullable()
      .default(16 * 1024 * 1024),
    /**
     * Leaf size of the part hashes (`parts.leaf`: each part hash is the sha256 of its leaves'
     * sha256s, which a sync hashes several abreast). Parts smaller than a leaf are one leaf each;
     * null publishes plain per-part sha256s. 256 KiB: four leaves per 1 MiB sync chunk, so each
     * chunk's leaves hash together the moment it fills, still in cache (measured a few points
     * faster than 1 MiB leaves, which wait in the queue for three more chunks).
     */
    hashLeafSize: z
      .number()
      .int()
      .min(4096)
      .multipleOf(4096)
      .nullable()
      .default(256 * 1024),
  })
  .refine((o) => o.hashPartSize === null || o.hashLeafSize === null || o.hashPartSize <= o.hashLeafSize || o.hashPartSize % o.hashLeafSize === 0, {
    message: 'hashPartSize must be a multiple of hashLeafSize (or at most one leaf)',
    path: ['hashPartSize'],
  });

export interface PublishInput extends z.input<typeof PublishOptions> {
  s3: ObjectStore;
  onProgress?: (p: PublishProgress) => void;
  signal?: AbortSignal;
}

export interface PublishResult {
  revision: string;
  manifest: Manifest;
  uploadedBytes: number;
  skippedBytes: number;
}

export type PublishSettings = z.output<typeof PublishOptions>;

/** A local file of the revision, hashed: its manifest entry without the ETag the upload yields. */
export type HashedFile = Omit<ManifestFile, 'etag'>;

/**
 * Upload `entries` (the revision `revision`, `total` bytes) and publish its manifest and ref;
 * `body(i, onBytes)` streams the bytes of `entries[i]`, counting them as they are read.
 */
export async function uploadRevision(
  input: PublishInput,
  o: PublishSettings,
  revision: string,
  entries: HashedFile[],
  total: number,
  body: (i: number, onBytes: (n: number) => void) => AsyncIterable<Uint8Array>,
): Promise<PublishResult> {
  const { s3 } = input;
  let uploadedBytes = 0;
  let skippedBytes = 0;
  let sent = 0;
  const withEtags: ManifestFile[] = await mapLimit(entries, o.concurrency, async (entry, i) => {
    const key = s3Keys.file(o.model, revision, entry.path);
    const head = await s3.head(o.bucket, key, input.signal);
    if (head && head.size === entry.size && head.metadata.sha256 === entry.sha256) {
      skippedBytes += entry.size;
      sent += entry.size;
      input.onProgress?.({ phase: 'upload', file: entry.path, bytesDone: sent, bytesTotal: total });
      return { ...entry, etag: head.etag };
    }
    const { etag } = await s3.upload(o.bucket, key, {
      body: body(i, (n) => {
        sent += n;
        input.onProgress?.({ phase: 'upload', file: entry.path, bytesDone: sent, bytesTotal: total });
      }),
      size: entry.size,
      contentType: contentTypeOf(entry.path),
      metadata: { sha256: entry.sha256 },
      partSize: o.partSize,
      concurrency: 4,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    uploadedBytes += entry.size;
    // Some stores omit the ETag on multipart completion; the manifest's etag is informational.
    return etag ? { ...entry, etag } : { ...entry, etag: (await s3.head(o.bucket, key))?.etag ?? '' };
  });

  const manifestKey = s3Keys.manifest(o.model, revision);
  let manifest = await existingManifest(s3, o.bucket, manifestKey, o.model, revision);
  if (!manifest) {
    manifest = { schema: 1, model: o.model, revision, created_at: new Date().toISOString(), files: withEtags };
    await s3.putText(o.bucket, manifestKey, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
  }
  if (o.ref !== undefined) await writeRef({ s3, bucket: o.bucket, model: o.model, ref: o.ref, revision });
  return { revision, manifest, uploadedBytes, skippedBytes };
}

/** An already-published, valid manifest for this revision is kept (and its created_at with it). */
async function existingManifest(s3: ObjectStore, bucket: string, key: string, model: string, revision: string): Promise<Manifest | null> {
  const text = await s3.getText(bucket, key);
  if (text === null) return null;
  try {
    return await parseManifest(text, key, { model, revision });
  } catch (err) {
    if (err instanceof ApiError && err.code === 'unprocessable_entity') return null; // overwrite a broken one
    throw err;
  }
}

function contentTypeOf(p: string): string {
  if (p.endsWith('.json')) return 'application/json';
  if (p.endsWith('.md') || p.endsWith('.txt')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}
