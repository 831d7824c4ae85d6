/**
 * What a sync downloads (pure): the files of a manifest the local content store lacks, one per
 * distinct content hash, each named by its S3 key and carrying what verifies it (whole-file
 * sha256, part hashes) and what pins it (the published ETag). The downloader that fetches them
 * to disk is adapters/node/weights/download.ts; these types are what it and each part's fetch
 * (fetch-part.ts there) agree on.
 */
import { type FileParts, type Manifest, s3Keys } from '#shared/manifest.ts';
import type { Part } from './part-map.ts';
import type { RetryDeps, RetryPolicy } from './retry.ts';

export interface DownloadItem {
  path: string;
  key: string;
  size: number;
  sha256: string;
  /** Part hashes from the manifest: the file downloads in these parts, each verified on arrival. */
  parts?: FileParts;
  /** The object's ETag as published (the manifest's `etag`): pins the download without a HEAD. */
  etag?: string;
}

/** How the parts of a download were written (adapters/node/weights/write-path.ts). */
export type WritesUsed = 'direct' | 'page-cache' | 'direct, then page-cache';

export interface DownloadStats {
  downloadedBytes: number;
  resumedBytes: number;
  retries: number;
  /** How parts reached the disk (the last round's, when a round of resumed files ran again). */
  writes: WritesUsed;
  /** Share of direct parts' time spent waiting for the disk (null: no direct part finished). */
  writeStallShare: number | null;
}

/** How a part is retried and reported: the options every part of a download shares. */
export interface PartRetry {
  retry: RetryPolicy;
  retryDeps: RetryDeps;
  /** Bytes received (negative when a failed part's bytes are given back). */
  onBytes?: (n: number) => void;
  onRetry?: (err: unknown, item: DownloadItem, part: Part) => void;
}

export interface DownloadPlan {
  /** Files to fetch, in manifest order. */
  missing: DownloadItem[];
  /** Bytes already in the store as verified blobs. */
  reusedBytes: number;
}

/**
 * Split a manifest's files into those the store holds (`hasBlob`: a verified blob of that sha256
 * and size) and those to download, each by its key in the revision.
 */
export async function planDownloads(
  manifest: Manifest,
  model: string,
  revision: string,
  hasBlob: (sha256: string, size: number) => Promise<boolean>,
): Promise<DownloadPlan> {
  const missing: DownloadItem[] = [];
  let reusedBytes = 0;
  for (const f of manifest.files) {
    if (await hasBlob(f.sha256, f.size)) reusedBytes += f.size;
    else
      missing.push({
        path: f.path,
        key: s3Keys.file(model, revision, f.path),
        size: f.size,
        sha256: f.sha256,
        ...(f.parts ? { parts: f.parts } : {}),
        ...(f.etag ? { etag: f.etag } : {}),
      });
  }
  return { missing, reusedBytes };
}

/** One download per distinct content hash (two paths with the same bytes share a blob). */
export function dedupe(items: DownloadItem[]): DownloadItem[] {
  const seen = new Map<string, DownloadItem>();
  for (const it of items) if (!seen.has(it.sha256)) seen.set(it.sha256, it);
  return [...seen.values()];
}
