/**
 * In-memory ObjectStore (the port's reference implementation) for unit tests and local runs.
 * It honours If-Match like S3 does and can inject faults per ranged GET, so retry, resume and
 * refusal paths are testable without a server.
 */
import { createHash } from 'node:crypto';
import { ApiError } from '#shared/errors.ts';
import type { ListResult, ObjectHead, ObjectStore, RangeRequest, RangeResult, ReadRangeRequest, UploadRequest } from '../../../weights/object-store.ts';
import { copyIntoSink, objectUrl, sameEtag } from '../../../weights/object-store.ts';

/**
 * What to do to one ranged GET: fail before any byte, cut the body after `after` bytes, or
 * deliver it whole with its first byte flipped (damage on the way; the object itself is intact).
 */
export type RangeFault = { kind: 'fail' } | { kind: 'truncate'; after: number } | { kind: 'corrupt' } | undefined;

export interface MemoryObjectStore extends ObjectStore {
  /** Raw bytes of an object (tests use it to corrupt or inspect). */
  objects: Map<string, { body: Uint8Array; etag: string; metadata: Record<string, string> }>;
  /** Counts of ranged GETs and of HEADs per key. */
  gets: Map<string, number>;
  heads: Map<string, number>;
}

/** An empty in-memory store; `fault` may sabotage ranged GETs (called once per request). */
export function createMemoryObjectStore(o: { endpoint?: string; fault?: (key: string, range: RangeRequest) => RangeFault } = {}): MemoryObjectStore {
  const objects: MemoryObjectStore['objects'] = new Map();
  const gets = new Map<string, number>();
  const heads = new Map<string, number>();
  const endpoint = o.endpoint ?? 'memory://';
  const id = (bucket: string, key: string) => `${bucket}/${key}`;
  const etagOf = (b: Uint8Array) => `"${createHash('md5').update(b).digest('hex')}"`;
  const put = (bucket: string, key: string, body: Uint8Array, metadata: Record<string, string> = {}) => {
    const etag = etagOf(body);
    objects.set(id(bucket, key), { body, etag, metadata });
    return { etag };
  };

  return {
    endpoint,
    objects,
    gets,
    heads,
    async head(bucket, key): Promise<ObjectHead | null> {
      heads.set(key, (heads.get(key) ?? 0) + 1);
      const ob = objects.get(id(bucket, key));
      return ob ? { size: ob.body.length, etag: ob.etag, metadata: { ...ob.metadata } } : null;
    },
    async readRange(bucket, key, range: ReadRangeRequest): Promise<RangeResult> {
      gets.set(key, (gets.get(key) ?? 0) + 1);
      const ob = objects.get(id(bucket, key));
      const where = objectUrl({ endpoint }, bucket, key);
      if (!ob) throw new ApiError('not_found', `Not found: ${where}`);
      if (range.ifMatch !== undefined && !sameEtag(range.ifMatch, ob.etag))
        throw new ApiError('conflict', `Object changed (ETag precondition failed): ${where}`);
      if (range.start > range.end || range.end >= ob.body.length) throw new ApiError('unprocessable_entity', `Range not satisfiable: ${where}`);
      const fault = o.fault?.(key, range);
      if (fault?.kind === 'fail') throw new ApiError('origin_unavailable', `Injected failure: ${where}`);
      let slice = ob.body.subarray(range.start, range.end + 1);
      if (fault?.kind === 'corrupt') {
        slice = Uint8Array.from(slice);
        slice[0] = slice[0]! ^ 0xff;
      }
      const cut = fault?.kind === 'truncate' ? Math.min(fault.after, slice.length) : slice.length;
      // Small chunks, like a socket delivers them; a truncated body gives its bytes back.
      for (let i = 0; i < cut; i += 64 * 1024) {
        const chunk = slice.subarray(i, Math.min(cut, i + 64 * 1024));
        range.onBytes?.(chunk.length);
        await copyIntoSink(range.sink, chunk);
      }
      if (cut < slice.length) {
        range.onBytes?.(-cut);
        throw new ApiError('origin_unavailable', `socket hang up (injected) after ${cut} bytes: ${where}`);
      }
      return { etag: ob.etag, size: ob.body.length };
    },
    async getText(bucket, key) {
      const ob = objects.get(id(bucket, key));
      return ob ? new TextDecoder().decode(ob.body) : null;
    },
    async putText(bucket, key, text) {
      return put(bucket, key, new TextEncoder().encode(text));
    },
    async upload(bucket, key, req: UploadRequest) {
      const chunks: Uint8Array[] = [];
      for await (const c of req.body) chunks.push(c);
      const body = Buffer.concat(chunks);
      if (body.length !== req.size) throw new ApiError('invalid_request_error', `Upload of ${key}: got ${body.length} bytes, declared ${req.size}`);
      return put(bucket, key, body, req.metadata);
    },
    async list(bucket, prefix, delimiter): Promise<ListResult> {
      const out: ListResult = { keys: [], prefixes: [] };
      const prefixes = new Set<string>();
      for (const [k, ob] of [...objects].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (!k.startsWith(`${bucket}/${prefix}`)) continue;
        const key = k.slice(bucket.length + 1);
        const restIdx = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
        if (restIdx >= 0) prefixes.add(key.slice(0, restIdx + 1));
        else out.keys.push({ key, size: ob.body.length });
      }
      out.prefixes = [...prefixes];
      return out;
    },
    async delete(bucket, key) {
      objects.delete(id(bucket, key));
    },
  };
}
