/**
 * ObjectStore adapter on the AWS SDK v3. One client per config; keep-alive sockets sized for
 * parallel ranged GETs. SDK errors are mapped once, here, to the port's ApiError codes.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ListResult, ObjectHead, ObjectStore, RangeResult, ReadRangeRequest, UploadRequest } from '../../weights/object-store.ts';
import { objectUrl } from '../../weights/object-store.ts';
import { parseS3Config, type S3Config, type S3ConfigInput } from '../../weights/s3-settings.ts';
import { mapError } from './map-error.ts';
import { createRangeReader } from './range-reader.ts';
import { sdkReadRange } from './sdk-read-range.ts';

export { mapError };

export interface S3ObjectStore extends ObjectStore {
  readonly config: S3Config;
  /** The underlying SDK client, for callers that need an operation the port lacks. */
  readonly client: S3Client;
  /** Close idle sockets (lets a CLI or test process exit promptly). */
  destroy(): void;
}

/**
 * An S3-backed ObjectStore from a config object (validated with zod here, so a bad config fails
 * at start with a message naming the field). Use `s3ConfigFromEnv` to build the config from
 * MOTIF_S3_* variables.
 */
export function createS3Client(cfg: S3ConfigInput | S3Config): S3ObjectStore {
  const config = parseS3Config(cfg);
  const agentOpts = { keepAlive: true, maxSockets: config.maxSockets };
  const httpAgent = new http.Agent(agentOpts);
  const httpsAgent = new https.Agent(agentOpts);
  const relaxed = config.relaxedChecksums;
  const client = new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    ...(relaxed ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    requestHandler: { httpAgent, httpsAgent, connectionTimeout: 10_000, requestTimeout: 120_000 },
  });
  const endpoint = config.endpoint ?? `https://s3.${config.region}.amazonaws.com`;
  const where = (bucket: string, key: string) => objectUrl({ endpoint }, bucket, key);
  const reader = config.directReads ? createRangeReader(config, { credentials: client.config.credentials, sha256: client.config.sha256 }) : null;

  async function call<T>(bucket: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapError(err, where(bucket, key));
    }
  }

  return {
    endpoint,
    config,
    client,
    destroy() {
      client.destroy();
      reader?.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },

    async head(bucket, key, signal): Promise<ObjectHead | null> {
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        return { size: r.ContentLength ?? 0, etag: r.ETag ?? '', metadata: lowerKeys(r.Metadata ?? {}) };
      } catch (err) {
        const e = mapError(err, where(bucket, key));
        if (e.code === 'not_found') return null;
        throw e;
      }
    },

    async readRange(bucket, key, req: ReadRangeRequest): Promise<RangeResult> {
      if (reader) return reader.read(bucket, key, req, where(bucket, key));
      return call(bucket, key, () => sdkReadRange(client, bucket, key, req, where(bucket, key)));
    },

    async getText(bucket, key, signal) {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        return r.Body ? await r.Body.transformToString('utf8') : '';
      } catch (err) {
        const e = mapError(err, where(bucket, key));
        if (e.code === 'not_found') return null;
        throw e;
      }
    },

    async putText(bucket, key, text, contentType = 'text/plain; charset=utf-8') {
      return call(bucket, key, async () => {
        const r = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: contentType }));
        return { etag: r.ETag ?? '' };
      });
    },

    async upload(bucket, key, req: UploadRequest) {
      return call(bucket, key, async () => {
        const up = new Upload({
          client,
          params: {
            Bucket: bucket,
            Key: key,
            Body: Readable.from(req.body),
            ContentLength: req.size,
            ...(req.contentType ? { ContentType: req.contentType } : {}),
            ...(req.metadata ? { Metadata: req.metadata } : {}),
          },
          partSize: Math.max(5 * 1024 * 1024, req.partSize ?? 16 * 1024 * 1024),
          queueSize: req.concurrency ?? 4,
          leavePartsOnError: false,
        });
        const onAbort = () => void up.abort();
        req.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          const r = await up.done();
          return { etag: r.ETag ?? '' };
        } finally {
          req.signal?.removeEventListener('abort', onAbort);
        }
      });
    },

    async list(bucket, prefix, delimiter): Promise<ListResult> {
      return call(bucket, prefix, async () => {
        const out: ListResult = { keys: [], prefixes: [] };
        let token: string | undefined;
        // Bounded: a listing with more than 1000 pages (1M keys) is not a model.
        for (let page = 0; page < 1000; page++) {
          const r = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, ...(delimiter ? { Delimiter: delimiter } : {}) }),
          );
          for (const o of r.Contents ?? []) if (o.Key) out.keys.push({ key: o.Key, size: o.Size ?? 0 });
          for (const p of r.CommonPrefixes ?? []) if (p.Prefix) out.prefixes.push(p.Prefix);
          if (!r.IsTruncated || !r.NextContinuationToken) break;
          token = r.NextContinuationToken;
        }
        return out;
      });
    },

    async delete(bucket, key) {
      await call(bucket, key, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    },
  };
}

function lowerKeys(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v]));
}
