/**
 * The stack's weights step: the embedded S3 (or an external endpoint) and, if the bucket has no
 * ref for the model yet, a model published through the real publish path — the project's
 * deterministic tiny random Motif, or the HF model dir given in MOTIF_MODEL_DIR.
 * The embedded S3 records itself beside its data (local-stack.ts), so `npm run weights` uses this
 * server instead of opening the same files, and a second stack on the same data dir is refused.
 */
import { join } from 'node:path';
import { publishModel } from '../../origin/src/adapters/node/weights/publish.ts';
import { createS3Client, s3ConfigFromEnv, startEmbeddedS3 } from '../../origin/src/adapters/s3/index.ts';
import { findRunningEmbeddedS3, removeEmbeddedS3Marker, writeEmbeddedS3Marker } from '../../origin/src/cli/local-stack.ts';
import { resolveRef } from '../../origin/src/weights/refs.ts';
import { generateModel } from '../../tools/model-gen/index.ts';
import { type StackConfig, TINY_MODEL_ID } from './config.ts';

export interface S3Handle {
  endpoint: string;
  bucket: string;
  /** Env a child process needs to reach this S3 (endpoint, bucket, credentials). */
  clientEnv: Record<string, string>;
  client: ReturnType<typeof createS3Client>;
  stop(): Promise<void>;
}

// s3rver accepts any credentials; these only satisfy the SDK's credential chain.
const EMBEDDED_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

export async function startS3(cfg: StackConfig, log: (l: string) => void): Promise<S3Handle> {
  if (cfg.MOTIF_S3_ENDPOINT) {
    const clientEnv = { MOTIF_S3_ENDPOINT: cfg.MOTIF_S3_ENDPOINT, MOTIF_S3_BUCKET: cfg.MOTIF_S3_BUCKET };
    // MOTIF_S3_FORCE_PATH_STYLE etc. apply here as in the origin and the weights CLI.
    const client = createS3Client(s3ConfigFromEnv(process.env, { endpoint: cfg.MOTIF_S3_ENDPOINT, bucket: cfg.MOTIF_S3_BUCKET }));
    log(`[s3] using ${cfg.MOTIF_S3_ENDPOINT} bucket ${cfg.MOTIF_S3_BUCKET}`);
    return { endpoint: cfg.MOTIF_S3_ENDPOINT, bucket: cfg.MOTIF_S3_BUCKET, clientEnv, client, stop: async () => client.destroy() };
  }
  const dir = join(cfg.dataDir, 's3');
  const running = await findRunningEmbeddedS3(dir);
  if (running && running.pid !== process.pid) {
    throw new Error(
      `${dir} is already served at ${running.endpoint} by pid ${running.pid} (another npm start, or npm run weights -- s3): stop it, or set MOTIF_DATA_DIR to another dir`,
    );
  }
  const server = await startEmbeddedS3({ dir, port: cfg.MOTIF_S3_PORT, bucket: cfg.MOTIF_S3_BUCKET, silent: true });
  await writeEmbeddedS3Marker(dir, { endpoint: server.endpoint, bucket: cfg.MOTIF_S3_BUCKET });
  Object.assign(process.env, EMBEDDED_CREDENTIALS);
  const clientEnv = {
    ...EMBEDDED_CREDENTIALS,
    MOTIF_S3_ENDPOINT: server.endpoint,
    MOTIF_S3_BUCKET: cfg.MOTIF_S3_BUCKET,
    MOTIF_S3_FORCE_PATH_STYLE: 'true',
    MOTIF_S3_RELAXED_CHECKSUMS: 'true',
  };
  const client = createS3Client({ endpoint: server.endpoint, bucket: cfg.MOTIF_S3_BUCKET, forcePathStyle: true, relaxedChecksums: true });
  log(`[s3] embedded S3 at ${server.endpoint} (data in ${dir})`);
  return {
    endpoint: server.endpoint,
    bucket: cfg.MOTIF_S3_BUCKET,
    clientEnv,
    client,
    async stop() {
      client.destroy();
      await removeEmbeddedS3Marker(dir);
      await server.close();
    },
  };
}

/** Publish the model unless its ref already exists (MOTIF_MODEL_DIR is always re-published: a no-op when unchanged). */
export async function ensurePublished(cfg: StackConfig, s3: S3Handle, log: (l: string) => void): Promise<void> {
  const existing = await resolveRef({ s3: s3.client, bucket: s3.bucket, model: cfg.MOTIF_MODEL_ID, ref: cfg.MOTIF_WEIGHTS_REF }).catch(() => null);
  if (existing && !cfg.MOTIF_MODEL_DIR) {
    log(`[weights] ${cfg.MOTIF_MODEL_ID}@${cfg.MOTIF_WEIGHTS_REF} → revision ${existing}`);
    return;
  }
  let fromDir = cfg.MOTIF_MODEL_DIR;
  if (!fromDir && cfg.MOTIF_MODEL_ID !== TINY_MODEL_ID) {
    // Serving random weights under a real model's name would look like a broken model.
    throw new Error(
      `${cfg.MOTIF_MODEL_ID}@${cfg.MOTIF_WEIGHTS_REF} is not in ${s3.endpoint} (bucket ${s3.bucket}): publish it first ` +
        `(npm run weights -- publish --from <model dir> --model ${cfg.MOTIF_MODEL_ID} --ref ${cfg.MOTIF_WEIGHTS_REF}), ` +
        `or set MOTIF_MODEL_DIR=<model dir> to publish it on start, or unset MOTIF_MODEL_ID for the generated ${TINY_MODEL_ID}`,
    );
  }
  if (!fromDir) {
    log('[weights] generating the tiny random Motif model (deterministic, once)…');
    fromDir = (await generateModel({ outDir: join(cfg.dataDir, 'models', cfg.MOTIF_MODEL_ID), preset: 'tiny' })).dir;
  }
  const res = await publishModel({ s3: s3.client, bucket: s3.bucket, model: cfg.MOTIF_MODEL_ID, fromDir, ref: cfg.MOTIF_WEIGHTS_REF });
  log(`[weights] published ${cfg.MOTIF_MODEL_ID} revision ${res.revision} (${res.uploadedBytes} bytes uploaded) and moved ref ${cfg.MOTIF_WEIGHTS_REF}`);
}
