/**
 * The ObjectStore port: the few object-storage operations weights publish/sync need. The weights
 * logic talks only to this interface; `adapters/s3` implements it on the AWS SDK (AWS S3, MinIO,
 * Ceph RGW, R2, s3rver) and `adapters/node/weights/memory-object-store.ts` in memory for tests.
 *
 * Errors are ApiErrors with a small fixed set of codes so callers can decide what to retry:
 * `not_found` (no such key/bucket), `conflict` (an If-Match precondition failed: the object
 * changed), `permission_denied`, `origin_unavailable` (network, 5xx, throttling: retryable),
 * `unprocessable_entity` (the store answered something malformed).
 */
import { ApiError, type ErrorCode } from '#shared/errors.ts';

export interface ObjectHead {
  size: number;
  /** Quoted or unquoted as the store sends it; compare with `sameEtag`. */
  etag: string;
  /** User metadata (x-amz-meta-*), lower-case keys without the prefix. */
  metadata: Record<string, string>;
}

export interface RangeRequest {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (explicit start-end ranges: some stores answer suffix ranges wrongly). */
  end: number;
  /** Refuse (conflict) if the object's ETag is no longer this one. */
  ifMatch?: string;
  signal?: AbortSignal;
}

/**
 * Where a ranged read's body goes as it arrives: the caller hands out buffers and is told how many
 * bytes landed in each, so it can hash and write them while they are still in cache. A reader
 * calls `buffer`, fills some of it, calls `wrote`; when `wrote` returns a promise the sink is full
 * (its writes lag) and the reader puts no bytes in until it settles — backpressure, not memory.
 * A reader may ask for the next buffer early (Node's socket `onread` does, right after each read),
 * so a sink hands out the position its next bytes belong at, and must not move it until `wrote`.
 */
export interface RangeSink {
  /** Room for the next body bytes: 1 to `max` bytes, filled from its offset 0. */
  buffer(max: number): Uint8Array;
  /** `n` bytes landed at the start of the last buffer given out. */
  wrote(n: number): Promise<void> | void;
}

/** A ranged read streamed into the caller's sink (the bytes land in place, no intermediate chunks). */
export interface ReadRangeRequest extends RangeRequest {
  /** Receives exactly `end - start + 1` bytes, in order. */
  sink: RangeSink;
  /** Body bytes as they arrive (negative when a failed attempt's bytes are given back). */
  onBytes?: (n: number) => void;
}

/** A sink that fills one buffer (small reads, tests). */
export function bufferSink(target: Uint8Array): RangeSink & { readonly filled: number } {
  let filled = 0;
  return {
    get filled() {
      return filled;
    },
    buffer: (max) => target.subarray(filled, filled + Math.max(1, Math.min(max, target.length - filled))),
    wrote(n) {
      filled += n;
    },
  };
}

/**
 * Copy as much of `bytes` into `sink` as it takes before it reports full: how many bytes went in,
 * and the sink's "full" promise if it reported one (the rest must wait for it).
 */
export function fillSink(sink: RangeSink, bytes: Uint8Array): { copied: number; full: Promise<void> | void } {
  let off = 0;
  while (off < bytes.length) {
    const b = sink.buffer(bytes.length - off);
    const n = Math.min(b.length, bytes.length - off);
    b.set(bytes.subarray(off, off + n));
    off += n;
    const full = sink.wrote(n);
    if (full) return { copied: off, full };
  }
  return { copied: off, full: undefined };
}

/**
 * Copy all of `bytes` into `sink` (readers that get chunks, not buffers): nothing to wait for
 * while the sink has room, else a promise that settles once every byte is in and it has room.
 */
export function copyIntoSink(sink: RangeSink, bytes: Uint8Array): Promise<void> | void {
  const { copied, full } = fillSink(sink, bytes);
  if (!full || copied === bytes.length) return full;
  return full.then(() => copyIntoSink(sink, bytes.subarray(copied)));
}

export interface RangeResult {
  etag: string;
  /** Total object size as reported by Content-Range. */
  size: number;
}

export interface UploadRequest {
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  size: number;
  contentType?: string;
  metadata?: Record<string, string>;
  /** Multipart part size in bytes (stores require ≥ 5 MiB except for the last part). */
  partSize?: number;
  /** Parts uploaded in parallel for this object. */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface ListResult {
  keys: { key: string; size: number }[];
  /** Common prefixes when a delimiter was given. */
  prefixes: string[];
}

export interface ObjectStore {
  /** Where this store points, for error messages and logs (e.g. `http://127.0.0.1:9000`). */
  readonly endpoint: string;
  head(bucket: string, key: string, signal?: AbortSignal): Promise<ObjectHead | null>;
  /** Stream bytes [start, end] into `req.sink`; a short or oversized body is an error. */
  readRange(bucket: string, key: string, req: ReadRangeRequest): Promise<RangeResult>;
  /** Whole small object as text, or null when it does not exist. */
  getText(bucket: string, key: string, signal?: AbortSignal): Promise<string | null>;
  putText(bucket: string, key: string, text: string, contentType?: string): Promise<{ etag: string }>;
  upload(bucket: string, key: string, req: UploadRequest): Promise<{ etag: string }>;
  list(bucket: string, prefix: string, delimiter?: string): Promise<ListResult>;
  delete(bucket: string, key: string): Promise<void>;
}

/** Codes of errors worth retrying (transient). */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['origin_unavailable', 'timeout', 'overloaded']);

/** True when an error from an ObjectStore is transient and the same request may succeed later. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ApiError && RETRYABLE.has(err.code);
}

/** ETags compared without their quotes (stores differ in whether they quote them). */
export function sameEtag(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return stripQuotes(a) === stripQuotes(b);
}

export function stripQuotes(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** `s3://bucket/key @ endpoint`, the way every weights error names an object. */
export function objectUrl(store: Pick<ObjectStore, 'endpoint'>, bucket: string, key: string): string {
  return `s3://${bucket}/${key} (endpoint ${store.endpoint})`;
}
