/**
 * The origin's S3 weights path with real processes: the tiny checkpoint is published to an
 * embedded s3rver, the origin syncs it into its content store and serves that revision; started
 * again while S3 is down, it serves the local snapshot and says so in its log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCompletion } from '#shared/openai.ts';
import { signedPost, TEST_NODE_KEY } from '../../origin/src/adapters/node/test-support.ts';
import { publishModel } from '../../origin/src/adapters/node/weights/publish.ts';
import { createS3Client, type EmbeddedS3, S3RVER_CREDENTIALS, startEmbeddedS3 } from '../../origin/src/adapters/s3/index.ts';
import { freePort, type ManagedProcess, spawnTsx, waitForHttp } from '../../scripts/stack/processes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/tiny-motif');
const key = { kid: 'k1', secret: 's3-integration-secret-0123' };
const BUCKET = 'motif-weights';

let s3: EmbeddedS3 | undefined;
let tmp: string;
let revision: string;
const running: ManagedProcess[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'motif-origin-s3-'));
  s3 = await startEmbeddedS3({ dir: join(tmp, 's3'), bucket: BUCKET });
  const client = createS3Client(s3.config);
  try {
    revision = (await publishModel({ s3: client, bucket: BUCKET, model: 'motif-tiny', fromDir: FIXTURE, ref: 'stable' })).revision;
  } finally {
    client.destroy();
  }
});

afterAll(async () => {
  for (const p of running) await p.stop();
  await s3?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function startOriginProcess(endpoint: string, logs: string[]): Promise<{ url: string; proc: ManagedProcess }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    MOTIF_ORIGIN_PORT: String(port),
    MOTIF_REPLICA_ID: 's3-0',
    MOTIF_ORIGIN_SECRET: `${key.kid}:${key.secret}`,
    MOTIF_NODE_KEY: `${TEST_NODE_KEY.kid}:${TEST_NODE_KEY.secret}`,
    MOTIF_MODEL_ID: 'motif-tiny',
    MOTIF_S3_ENDPOINT: endpoint,
    MOTIF_S3_BUCKET: BUCKET,
    MOTIF_S3_FORCE_PATH_STYLE: 'true',
    MOTIF_S3_RELAXED_CHECKSUMS: 'true',
    MOTIF_ORIGIN_DATA_DIR: join(tmp, 'origin'),
    MOTIF_WEIGHTS_STORE: join(tmp, 'store'),
  };
  delete env.MOTIF_ORIGIN_MODEL_DIR;
  delete env.MOTIF_EDGE_URL;
  const proc = spawnTsx({ name: 'origin', file: 'origin/src/main.ts', env, log: (l) => logs.push(l) });
  running.push(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, proc, 60_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${logs.join('\n')}`);
  });
  return { url, proc };
}

async function servedRevision(url: string, requestId: string): Promise<string | undefined> {
  const res = await signedPost(
    url,
    '/v1/chat/completions',
    { model: 'motif-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
    { key, requestId },
  );
  expect(res.status).toBe(200);
  return ChatCompletion.parse(await res.json()).system_fingerprint;
}

describe('origin weights from S3', () => {
  it('syncs the published revision and serves it', async () => {
    const logs: string[] = [];
    const { url, proc } = await startOriginProcess(s3!.endpoint, logs);
    expect(await servedRevision(url, 's3-req-1')).toBe(`fp_${revision}`);
    expect(logs.join('\n')).toContain(`revision ${revision} ready`);
    await proc.stop();
    expect(await proc.exited).toBe(0);
  });

  it('serves the local snapshot when S3 is unreachable at start, and logs it', async () => {
    const endpoint = s3!.endpoint;
    await s3!.close();
    s3 = undefined;
    const logs: string[] = [];
    const { url, proc } = await startOriginProcess(endpoint, logs);
    expect(logs.join('\n')).toMatch(new RegExp(`sync from S3 failed .*serving the local snapshot ${revision}`));
    expect(await servedRevision(url, 's3-req-2')).toBe(`fp_${revision}`);
    await proc.stop();
  });
});
