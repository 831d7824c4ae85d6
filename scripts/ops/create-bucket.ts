/**
 * `npm run ops:create-bucket`: create the weights bucket (MOTIF_S3_BUCKET on MOTIF_S3_ENDPOINT,
 * credentials by the standard AWS chain) unless it exists. The appliance's compose file runs it
 * once after MinIO starts, since nothing else in the service creates buckets: publish and sync
 * expect the bucket to be there. Retries while the store is still starting (`--wait-s`, 60).
 */
import { parseArgs } from 'node:util';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { isEntryPoint } from '../../edge/src/adapters/node/entry-point.ts';
import { createS3Client, type S3Config, s3ConfigFromEnv } from '../../origin/src/adapters/s3/index.ts';

export type BucketOutcome = 'exists' | 'created';

async function bucketExists(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

/**
 * Make sure `config.bucket` exists. Failures to reach the store are retried every second until
 * `waitMs` has passed; an answer the store gives (403, a bad bucket name) fails at once.
 */
export async function ensureBucket(config: S3Config, opts: { waitMs: number; sleep?: (ms: number) => Promise<void> }): Promise<BucketOutcome> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const store = createS3Client(config);
  const deadline = Date.now() + opts.waitMs;
  try {
    for (;;) {
      try {
        if (await bucketExists(store.client, config.bucket)) return 'exists';
        await store.client.send(new CreateBucketCommand({ Bucket: config.bucket }));
        return 'created';
      } catch (err) {
        const answered = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== undefined;
        if (answered || Date.now() >= deadline) throw err;
        await sleep(1_000);
      }
    }
  } finally {
    store.destroy();
  }
}

if (isEntryPoint(import.meta.url)) {
  const { values } = parseArgs({ options: { 'wait-s': { type: 'string', default: '60' } } });
  const waitS = Number(values['wait-s']);
  const run = async (): Promise<void> => {
    if (!Number.isFinite(waitS) || waitS < 0) throw new Error(`--wait-s must be a number of seconds, not ${values['wait-s']}`);
    const config = s3ConfigFromEnv(process.env, { bucket: process.env.MOTIF_S3_BUCKET ?? 'motif-weights' });
    const outcome = await ensureBucket(config, { waitMs: waitS * 1000 });
    process.stdout.write(`bucket ${config.bucket} at ${config.endpoint ?? 'AWS S3'}: ${outcome}\n`);
  };
  run().catch((err: unknown) => {
    process.stderr.write(`create-bucket failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
