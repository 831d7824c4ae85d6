import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartDigest } from './leaf-hash.ts';
import { createMemoryObjectStore } from './memory-object-store.ts';
import { publishModel } from './publish.ts';

const KiB = 1024;
let tmp: string;
let dir: string;
const bytes = randomBytes(200 * KiB + 3);
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'weights-publish-'));
  dir = path.join(tmp, 'model');
  await fs.mkdir(dir);
  await fs.writeFile(path.join(dir, 'w.bin'), bytes);
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const digest = (b: Uint8Array, leaf: number | null) => {
  const d = new PartDigest(leaf);
  d.update(b);
  return d.digest();
};

describe('publishModel part hashes', () => {
  const publish = (over: Record<string, unknown>) => publishModel({ s3: createMemoryObjectStore(), bucket: 'b', model: 'm', fromDir: dir, ...over });

  it('hashes parts over leaves; parts smaller than a leaf are one leaf each', async () => {
    const r = await publish({ hashPartSize: 128 * KiB, hashLeafSize: 64 * KiB });
    const parts = r.manifest.files[0]!.parts!;
    expect(parts).toMatchObject({ size: 128 * KiB, leaf: 64 * KiB });
    expect(parts.sha256).toEqual([digest(bytes.subarray(0, 128 * KiB), 64 * KiB), digest(bytes.subarray(128 * KiB), 64 * KiB)]);
    const small = await publish({ hashPartSize: 64 * KiB }); // default 256 KiB leaves
    expect(small.manifest.files[0]!.parts).toMatchObject({ size: 64 * KiB, leaf: 64 * KiB });
  });

  it('plain part sha256s without leaves, and the leaf size is bound into the revision id', async () => {
    const plain = await publish({ hashPartSize: 128 * KiB, hashLeafSize: null });
    expect(plain.manifest.files[0]!.parts!.leaf).toBeUndefined();
    expect(plain.manifest.files[0]!.parts!.sha256[0]).toBe(digest(bytes.subarray(0, 128 * KiB), null));
    const leaves = await publish({ hashPartSize: 128 * KiB, hashLeafSize: 64 * KiB });
    const leaves32 = await publish({ hashPartSize: 128 * KiB, hashLeafSize: 32 * KiB });
    expect(new Set([plain.revision, leaves.revision, leaves32.revision]).size).toBe(3);
  });

  it('refuses a part size that is not a whole number of leaves', async () => {
    await expect(publish({ hashPartSize: 96 * KiB, hashLeafSize: 64 * KiB })).rejects.toMatchObject({
      code: 'invalid_request_error',
      message: expect.stringMatching(/multiple of hashLeafSize/),
    });
  });
});
