/**
 * Crash resume (DESIGN §6): a `weights sync` child is killed with SIGKILL half way through a
 * ~190 MiB download from a real s3rver; a second run finishes from the persisted part maps,
 * fetches only what the first run had not recorded, and the result verifies byte for byte.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type PublishResult, publishModel } from '../../origin/src/adapters/node/weights/publish.ts';
import { createS3Client, type EmbeddedS3, type S3ObjectStore, startEmbeddedS3 } from '../../origin/src/adapters/s3/index.ts';
import { recordedBytes, safetensorsFile, syncChild } from '../helpers/weights-sync.ts';

const MiB = 1024 * 1024;
const PART = 8 * MiB;
const CONCURRENCY = 4;

let tmp: string;
let server: EmbeddedS3;
let s3: S3ObjectStore;
let pub: PublishResult;
let total: number;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'weights-resume-'));
  server = await startEmbeddedS3({ dir: path.join(tmp, 's3'), port: 0, bucket: 'resume' });
  s3 = createS3Client(server.config);
  const dir = path.join(tmp, 'model');
  await fs.mkdir(dir);
  await fs.writeFile(path.join(dir, 'model-00001-of-00002.safetensors'), safetensorsFile(100 * MiB + 3));
  await fs.writeFile(path.join(dir, 'model-00002-of-00002.safetensors'), safetensorsFile(90 * MiB + 11));
  await fs.writeFile(path.join(dir, 'config.json'), '{"model_type":"motif"}');
  pub = await publishModel({ s3, bucket: 'resume', model: 'big', fromDir: dir, ref: 'stable', hashPartSize: PART });
  total = pub.manifest.files.reduce((a, f) => a + f.size, 0);
});

afterAll(async () => {
  s3?.destroy();
  await server?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

const syncEnv = () => ({
  MOTIF_S3_ENDPOINT: server.endpoint,
  MOTIF_S3_BUCKET: 'resume',
  MOTIF_S3_FORCE_PATH_STYLE: 'true',
  MOTIF_S3_RELAXED_CHECKSUMS: 'true',
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
});
const syncRun = (store: string) => syncChild({ store, model: 'big', ref: 'stable', partSizeMiB: PART / MiB, concurrency: CONCURRENCY, env: syncEnv() });

it('resumes after kill -9 at ~50% and re-downloads at most the parts that were in flight', async () => {
  const store = path.join(tmp, 'store');
  const first = syncRun(store);
  let observed = 0;
  // Poll the part maps the child persists; bounded by the child's lifetime and 60 s.
  const until = Date.now() + 60_000;
  while (first.child.exitCode === null && Date.now() < until) {
    observed = await recordedBytes(store);
    if (observed >= total / 2) {
      first.child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const r1 = await first.done;
  expect(r1.signal, `first run was not killed mid-way:\n${r1.stderr}`).toBe('SIGKILL');
  expect(observed).toBeGreaterThan(0);
  expect(observed).toBeLessThan(total);
  const recorded = await recordedBytes(store);
  expect(recorded).toBeGreaterThanOrEqual(observed);
  await expect(fs.readlink(path.join(store, 'current'))).rejects.toThrow();

  const second = syncRun(store);
  const r2 = await second.done;
  expect(r2.code, r2.stderr).toBe(0);
  const res = JSON.parse(r2.stdout.trim().split('\n').at(-1)!) as {
    revision: string;
    dir: string;
    downloadedBytes: number;
    resumedBytes: number;
    reusedBytes: number;
  };
  expect(res.revision).toBe(pub.revision);
  // Everything recorded before the kill is kept; only the rest is fetched (≤ the parts in flight
  // at the kill plus what was never started).
  expect(res.resumedBytes + res.reusedBytes).toBe(recorded);
  expect(res.downloadedBytes).toBe(total - recorded);
  expect(total - recorded).toBeLessThanOrEqual(total - observed);

  for (const f of pub.manifest.files) {
    const h = createHash('sha256')
      .update(await fs.readFile(path.join(res.dir, f.path)))
      .digest('hex');
    expect(h, f.path).toBe(f.sha256);
  }
  expect(await fs.readdir(path.join(store, 'tmp'))).toEqual([]);
});
