/**
 * Publish a local HF-style model directory as a revision (DESIGN §6): hash every file (and each
 * of its parts, so a sync can verify parts as they land), refuse malformed safetensors, upload
 * only what the bucket does not already hold (HEAD size + sha256 metadata), write the manifest,
 * and move the ref last so a reader never follows a ref to a half-published revision.
 * Re-publishing identical content uploads nothing.
 */
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { ApiError, fromZodError } from '#shared/errors.ts';
import { revisionId, s3Keys, type Manifest, type ManifestFile } from '#shared/manifest.ts';
import { checkSafetensorsFile, hashFile, isSafetensors, walkModelDir, type LocalFile } from './local-files.ts';
import { parseManifest } from './manifest-check.ts';
import { ModelId, RefName } from './names.ts';
import type { ObjectStore } from './object-store.ts';
import { mapLimit } from './pool.ts';
import { writeRef } from './refs.ts';

export interface PublishProgress {
  phase: 'hash' | 'upload';
  file: string;
  bytesDone: number;
  bytesTotal: number;
}

const PublishOptions = z.object({
  bucket: z.string().min(1),
  model: ModelId,
  fromDir: z.string().min(1),
  ref: RefName.optional(),
  /** Objects uploaded at once (each also uploads up to 4 parts in parallel). */
  concurrency: z.number().int().min(1).max(64).default(4),
  partSize: z.number().int().min(5 * 1024 * 1024).max(512 * 1024 * 1024).default(16 * 1024 * 1024),
  /**
   * Size of the parts the manifest lists sha256s for (`files[].parts`): the unit a sync fetches
   * and verifies as it lands. A multiple of 4 KiB (direct-I/O alignment of part starts); null
   * publishes DESIGN's minimal manifest (whole-file sha256 only).
   */
  hashPartSize: z.number().int().min(4096).max(256 * 1024 * 1024).multipleOf(4096).nullable().default(16 * 1024 * 1024),
  /**
   * Leaf size of the part hashes (`parts.leaf`: each part hash is the sha256 of its leaves'
   * sha256s, which a sync hashes several abreast). Parts smaller than a leaf are one leaf each;
   * null publishes plain per-part sha256s. 256 KiB: four leaves per 1 MiB sync chunk, so each
   * chunk's leaves hash together the moment it fills, still in cache (measured a few points
   * faster than 1 MiB leaves, which wait in the queue for three more chunks).
   */
  hashLeafSize: z.number().int().min(4096).multipleOf(4096).nullable().default(256 * 1024),
}).refine((o) => o.hashPartSize === null || o.hashLeafSize === null || o.hashPartSize <= o.hashLeafSize || o.hashPartSize % o.hashLeafSize === 0, {
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

/** Publish `fromDir` as a revision of `model` and (optionally) point `ref` at it. */
export async function publishModel(input: PublishInput): Promise<PublishResult> {
  const parsed = PublishOptions.safeParse(input);
  if (!parsed.success) throw fromZodError(parsed.error);
  const o = parsed.data;
  const { s3 } = input;
  const files = await walkModelDir(o.fromDir);
  const total = files.reduce((a, f) => a + f.size, 0);

  let hashed = 0;
  const hashes = await mapLimit(files, 2, async (f) => {
    if (isSafetensors(f.path)) await checkSafetensorsFile(f.abs, f.path);
    const parts = o.hashPartSize === null ? null : { size: o.hashPartSize, ...(o.hashLeafSize !== null ? { leaf: Math.min(o.hashLeafSize, o.hashPartSize) } : {}) };
    return hashFile(f.abs, parts, (n) => {
      hashed += n;
      input.onProgress?.({ phase: 'hash', file: f.path, bytesDone: hashed, bytesTotal: total });
    });
  });
  const entries = files.map((f, i) => ({ path: f.path, size: f.size, ...hashes[i]! }));
  const revision = await revisionId(entries);

  let uploadedBytes = 0;
  let skippedBytes = 0;
  let sent = 0;
  const withEtags: ManifestFile[] = await mapLimit(files, o.concurrency, async (f, i) => {
    const entry = entries[i]!;
    const key = s3Keys.file(o.model, revision, f.path);
    const head = await s3.head(o.bucket, key, input.signal);
    if (head && head.size === f.size && head.metadata['sha256'] === entry.sha256) {
      skippedBytes += f.size;
      sent += f.size;
      input.onProgress?.({ phase: 'upload', file: f.path, bytesDone: sent, bytesTotal: total });
      return { ...entry, etag: head.etag };
    }
    const { etag } = await s3.upload(o.bucket, key, {
      body: counted(f, (n) => {
        sent += n;
        input.onProgress?.({ phase: 'upload', file: f.path, bytesDone: sent, bytesTotal: total });
      }),
      size: f.size,
      contentType: contentTypeOf(f.path),
      metadata: { sha256: entry.sha256 },
      partSize: o.partSize,
      concurrency: 4,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    uploadedBytes += f.size;
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

async function* counted(f: LocalFile, onBytes: (n: number) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of createReadStream(f.abs, { highWaterMark: 1 << 20 })) {
    onBytes((chunk as Buffer).length);
    yield chunk as Buffer;
  }
}

function contentTypeOf(p: string): string {
  if (p.endsWith('.json')) return 'application/json';
  if (p.endsWith('.md') || p.endsWith('.txt')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}
