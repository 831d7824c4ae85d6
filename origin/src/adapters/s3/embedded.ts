/**
 * s3rver running in-process: the default object store for local runs and the one tests use.
 * Data lives under `dir`; the bucket is created on start; port 0 picks a free port.
 */
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import type { S3Config } from '../../weights/s3-settings.ts';

const EmbeddedS3Options = z.object({
  dir: z.string().min(1),
  port: z.number().int().min(0).max(65535).default(0),
  bucket: z.string().min(3).default('motif'),
  silent: z.boolean().default(true),
  host: z.string().default('127.0.0.1'),
});
export type EmbeddedS3Options = z.input<typeof EmbeddedS3Options>;

export interface EmbeddedS3 {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  bucket: string;
  /** A ready-to-use S3 config for this server (path style, relaxed checksums, s3rver's fixed keys). */
  config: S3Config;
  close(): Promise<void>;
}

/** s3rver accepts only its built-in key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * Start s3rver in this process. Returns its endpoint, a matching S3 config (checksums relaxed:
 * s3rver stores aws-chunked uploads with their framing) and `close()`.
 */
export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  const o = EmbeddedS3Options.parse(opts);
  await fs.mkdir(o.dir, { recursive: true });
  const server = new S3rver({
    address: o.host,
    port: o.port,
    directory: o.dir,
    silent: o.silent,
    configureBuckets: [{ name: o.bucket, configs: [] }],
  });
  let addr: AddressInfo;
  try {
    addr = (await server.run()) as AddressInfo;
  } catch (err) {
    throw new ApiError('origin_unavailable', `Could not start embedded S3 on ${o.host}:${o.port}: ${(err as Error).message}`, { cause: err });
  }
  const endpoint = `http://${o.host}:${addr.port}`;
  return {
    endpoint,
    port: addr.port,
    bucket: o.bucket,
    config: {
      endpoint,
      region: 'us-east-1',
      bucket: o.bucket,
      forcePathStyle: true,
      relaxedChecksums: true,
      directReads: true,
      credentials: { ...S3RVER_CREDENTIALS },
      maxSockets: 64,
    },
    async close() {
      await server.close();
    },
  };
}
