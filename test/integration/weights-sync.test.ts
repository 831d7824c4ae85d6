/**
 * Weights publish → sync against a real s3rver on a free loopback port (DESIGN §6): byte-identical
 * snapshot, idempotent re-publish, and refusal of corrupted objects and malformed safetensors
 * without moving `current`.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, revisionId, s3Keys } from '#shared/manifest.ts';
import { openLocalSnapshot } from '../../origin/src/adapters/node/weights/local-snapshot.ts';
import { publishModel } from '../../origin/src/adapters/node/weights/publish.ts';
import { syncModel } from '../../origin/src/adapters/node/weights/sync.ts';
import { createS3Client, type EmbeddedS3, type S3ObjectStore, startEmbeddedS3 } from '../../origin/src/adapters/s3/index.ts';
import { resolveRef } from '../../origin/src/weights/refs.ts';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/tiny-motif');
const BUCKET = 'motif-test';
const MODEL = 'tiny-motif';
const PART = 64 * 1024;

let tmp: string;
let server: EmbeddedS3;
let s3: S3ObjectStore;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'weights-sync-'));
  server = await startEmbeddedS3({ dir: path.join(tmp, 's3'), port: 0, bucket: BUCKET, silent: true });
  s3 = createS3Client(server.config);
});

afterAll(async () => {
  s3?.destroy();
  await server?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const listFixture = async () => (await fs.readdir(FIXTURE)).filter((f) => !f.startsWith('.')).sort();

async function put(key: string, body: Uint8Array): Promise<void> {
  await s3.upload(BUCKET, key, { body: [body], size: body.length });
}

/** Publish a hand-made revision, bypassing publish's own checks (to test what sync refuses). */
async function publishRaw(model: string, files: Record<string, Uint8Array>, ref: string): Promise<string> {
  const entries = Object.entries(files).map(([p, b]) => ({ path: p, size: b.length, sha256: sha(b) }));
  const rev = await revisionId(entries);
  for (const [p, b] of Object.entries(files)) await put(s3Keys.file(model, rev, p), b);
  const m: Manifest = { schema: 1, model, revision: rev, created_at: new Date().toISOString(), files: entries };
  await s3.putText(BUCKET, s3Keys.manifest(model, rev), JSON.stringify(m));
  await s3.putText(BUCKET, s3Keys.ref(model, ref), rev);
  return rev;
}

describe('weights publish + sync (s3rver)', () => {
  let rev1: string;
  const store = () => path.join(tmp, 'store');

  it('publishes the fixture and moves the ref last', async () => {
    // 64 KiB part hashes: the fixture's files then sync in many verified parts each.
    const r = await publishModel({ s3, bucket: BUCKET, model: MODEL, fromDir: FIXTURE, ref: 'stable', hashPartSize: PART });
    rev1 = r.revision;
    const total = (await Promise.all((await listFixture()).map((f) => fs.stat(path.join(FIXTURE, f))))).reduce((a, s) => a + s.size, 0);
    expect(r.uploadedBytes).toBe(total);
    expect(r.skippedBytes).toBe(0);
    expect(r.manifest.files.map((f) => f.path)).toEqual(await listFixture());
    expect(await resolveRef({ s3, bucket: BUCKET, model: MODEL, ref: 'stable' })).toBe(rev1);
  });

  it('re-publishing identical content uploads nothing and keeps the revision', async () => {
    const r = await publishModel({ s3, bucket: BUCKET, model: MODEL, fromDir: FIXTURE, ref: 'stable', hashPartSize: PART });
    expect(r.revision).toBe(rev1);
    expect(r.uploadedBytes).toBe(0);
    expect(r.skippedBytes).toBeGreaterThan(0);
  });

  it('syncs into an empty store: byte-identical files in multi-part ranged GETs, current set', async () => {
    const progress: number[] = [];
    const r = await syncModel({
      s3,
      bucket: BUCKET,
      model: MODEL,
      ref: 'stable',
      storeDir: store(),
      partSize: 64 * 1024,
      concurrency: 4,
      onProgress: (p) => progress.push(p.bytesDone),
    });
    expect(r.revision).toBe(rev1);
    expect(r.activated).toBe(true);
    for (const f of await listFixture()) {
      const [a, b] = await Promise.all([fs.readFile(path.join(FIXTURE, f)), fs.readFile(path.join(r.dir, f))]);
      expect(Buffer.compare(a, b), f).toBe(0);
    }
    expect(progress.at(-1)).toBe(r.downloadedBytes);
    expect(await fs.readlink(path.join(store(), 'current'))).toBe(path.join('snapshots', rev1));
    const local = await openLocalSnapshot(store(), { deep: true });
    expect(local?.revision).toBe(rev1);
    expect(local?.dir).toBe(r.dir);
    expect(await fs.readdir(path.join(store(), 'tmp'))).toEqual([]);
  });

  it('syncs the same through the SDK reader (MOTIF_S3_DIRECT_READS=0)', async () => {
    const sdk = createS3Client({ ...server.config, directReads: false });
    try {
      const r = await syncModel({ s3: sdk, bucket: BUCKET, model: MODEL, ref: 'stable', storeDir: path.join(tmp, 'store-sdk'), concurrency: 4 });
      expect(r.revision).toBe(rev1);
      for (const f of await listFixture()) {
        const [a, b] = await Promise.all([fs.readFile(path.join(FIXTURE, f)), fs.readFile(path.join(r.dir, f))]);
        expect(Buffer.compare(a, b), f).toBe(0);
      }
    } finally {
      sdk.destroy();
    }
  });

  it('a second sync of the same revision downloads nothing', async () => {
    const r = await syncModel({ s3, bucket: BUCKET, model: MODEL, ref: 'stable', storeDir: store() });
    expect(r.downloadedBytes).toBe(0);
    expect(r.activated).toBe(false);
  });

  it('refuses a corrupted object (right size, wrong bytes) and leaves current alone', async () => {
    const extra = randomBytes(3 * 1024 * 1024 + 17);
    const dir = path.join(tmp, 'model-v2');
    await fs.cp(FIXTURE, dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'extra.bin'), extra);
    const r2 = await publishModel({ s3, bucket: BUCKET, model: MODEL, fromDir: dir, ref: 'canary' });
    expect(r2.revision).not.toBe(rev1);
    expect(r2.uploadedBytes).toBeGreaterThan(extra.length);
    const bad = Buffer.from(extra);
    bad[1234567] = bad[1234567]! ^ 0xff;
    const key = s3Keys.file(MODEL, r2.revision, 'extra.bin');
    await put(key, bad);

    const err = await syncModel({ s3, bucket: BUCKET, model: MODEL, ref: 'canary', storeDir: store(), partSize: 1024 * 1024 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unprocessable_entity' });
    expect((err as Error).message).toMatch(/sha256 mismatch for 'extra.bin'/);
    expect((err as Error).message).toContain(`s3://${BUCKET}/${key}`);
    expect(await fs.readlink(path.join(store(), 'current'))).toBe(path.join('snapshots', rev1));
    await expect(fs.stat(path.join(store(), 'blobs', sha(bad)))).rejects.toThrow();
    await expect(fs.stat(path.join(store(), 'blobs', sha(extra)))).rejects.toThrow();
    await expect(fs.stat(path.join(store(), 'snapshots', r2.revision))).rejects.toThrow();
  });

  it('refuses a malformed safetensors header at sync time and at publish time', async () => {
    const good = await fs.readFile(path.join(FIXTURE, 'model.safetensors'));
    // Same size, header length field pointing past the end of the file.
    const badLen = Buffer.from(good);
    badLen.writeBigUInt64LE(BigInt(good.length), 0);
    // Valid length, JSON data offsets shifted so the tensors no longer tile the data section.
    const n = Number(good.readBigUInt64LE(0));
    const header = good
      .subarray(8, 8 + n)
      .toString('utf8')
      .replace('"data_offsets":[0,', '"data_offsets":[4,');
    const badOffsets = Buffer.concat([good.subarray(0, 8), Buffer.from(header), good.subarray(8 + n)]);

    for (const [name, bytes, why] of [
      ['len', badLen, /header length/],
      ['offsets', badOffsets, /data_offsets|starts at|spans/],
    ] as const) {
      const model = `bad-${name}`;
      await publishRaw(model, { 'config.json': Buffer.from('{}'), 'model.safetensors': bytes }, 'stable');
      const err = await syncModel({ s3, bucket: BUCKET, model, ref: 'stable', storeDir: path.join(tmp, `store-${name}`) }).catch((e: unknown) => e);
      expect((err as Error).message, name).toMatch(/Malformed safetensors file 'model.safetensors'/);
      expect((err as Error).message, name).toMatch(why);
      expect(await openLocalSnapshot(path.join(tmp, `store-${name}`))).toBeNull();

      const dir = path.join(tmp, `pub-${name}`);
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, 'model.safetensors'), bytes);
      await expect(publishModel({ s3, bucket: BUCKET, model, fromDir: dir })).rejects.toThrow(/Malformed safetensors/);
    }
  });

  it('names the bucket and key when a ref does not exist', async () => {
    await expect(syncModel({ s3, bucket: BUCKET, model: MODEL, ref: 'nope', storeDir: store() })).rejects.toThrow(
      `s3://${BUCKET}/models/${MODEL}/refs/nope (endpoint ${server.endpoint})`,
    );
  });
});
