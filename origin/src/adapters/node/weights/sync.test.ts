/**
 * syncModel against the in-memory ObjectStore with injected faults: retries, truncated bodies,
 * objects replaced mid-download, resume after a failed run, and dedupe of identical files — for
 * both ways a file is verified: per-part hashes from the manifest, and a whole-file sha256 only.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { s3Keys } from '#shared/manifest.ts';
import type { RangeRequest } from '../../../weights/object-store.ts';
import { createMemoryObjectStore, type RangeFault } from './memory-object-store.ts';
import { publishModel } from './publish.ts';
import { syncModel } from './sync.ts';

const KiB = 1024;
const instant = { sleep: async () => undefined, random: () => 0.5 };
let tmp: string;

beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'weights-unit-'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function model(files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = path.join(tmp, `model-${randomBytes(3).toString('hex')}`);
  for (const [p, b] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, p)), { recursive: true });
    await fs.writeFile(path.join(dir, p), b);
  }
  return dir;
}

/**
 * The manifest's part hashes (64 KiB parts, the sync's part size) or none (whole-file sha256);
 * their leaves (null: plain per-part sha256s); and whether the sync may batch leaves natively.
 */
let hashPartSize: number | null = 64 * KiB;
let hashLeafSize: number | null = 16 * KiB;
let nativeHash = true;

async function setup(fault?: (key: string, r: RangeRequest) => RangeFault) {
  const s3 = createMemoryObjectStore(fault ? { fault } : {});
  const big = randomBytes(300 * KiB + 5);
  const dir = await model({ 'weights.bin': big, 'sub/config.json': '{"a":1}', 'z-copy.bin': big });
  const pub = await publishModel({ s3, bucket: 'b', model: 'm', fromDir: dir, ref: 'stable', hashPartSize, hashLeafSize });
  const sync = (over: Partial<Parameters<typeof syncModel>[0]> = {}) =>
    syncModel({
      s3,
      bucket: 'b',
      model: 'm',
      ref: 'stable',
      storeDir: path.join(tmp, 'store'),
      partSize: 64 * KiB,
      concurrency: 3,
      retryDeps: instant,
      nativeHash,
      ...over,
    });
  return { s3, big, pub, sync, key: (p: string) => s3Keys.file('m', pub.revision, p) };
}

describe.each([
  ['part hashes over 16 KiB leaves, batched', 64 * KiB, 16 * KiB, true],
  ['part hashes over leaves, each read hashed by node:crypto', 64 * KiB, 16 * KiB, false],
  ['plain part hashes', 64 * KiB, null, true],
  ['whole-file sha256 only', null, null, true],
] as const)('syncModel (memory store, %s)', (_mode, parts, leaf, native) => {
  beforeEach(() => {
    hashPartSize = parts;
    hashLeafSize = leaf;
    nativeHash = native;
  });

  it('retries failed and truncated parts and still produces identical files', async () => {
    const attempts = new Map<string, number>();
    const { big, sync } = await setup((key, r) => {
      const id = `${key}@${r.start}`;
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      if (n === 1) return { kind: 'fail' };
      if (n === 2) return { kind: 'truncate', after: 1000 };
      return undefined;
    });
    const r = await sync();
    // One blob for two identical files. 5 parts of ≤ 64 KiB fail twice each; the 7-byte config
    // fails once (its "truncated after 1000 bytes" attempt is complete).
    expect(r.retries).toBe(11);
    expect(r.downloadedBytes).toBe(big.length + 7);
    expect(Buffer.compare(await fs.readFile(path.join(r.dir, 'weights.bin')), big)).toBe(0);
    expect(Buffer.compare(await fs.readFile(path.join(r.dir, 'z-copy.bin')), big)).toBe(0);
    expect(await fs.readFile(path.join(r.dir, 'sub/config.json'), 'utf8')).toBe('{"a":1}');
  });

  it('fails with the key named after exhausting retries, then resumes only the missing parts', async () => {
    let broken = true;
    const { s3, big, sync, key } = await setup((k, r) => (broken && k.endsWith('weights.bin') && r.start >= 128 * KiB ? { kind: 'fail' } : undefined));
    const err = await sync({ concurrency: 1, retry: { attempts: 2, baseMs: 0, maxMs: 0 } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'origin_unavailable' });
    expect((err as Error).message).toContain(`s3://b/${key('weights.bin')}`);
    await expect(fs.readlink(path.join(tmp, 'store', 'current'))).rejects.toThrow();

    broken = false;
    s3.gets.clear();
    const r = await sync();
    // Parts 0 and 1 (0..128 KiB) survived the failed run: 3 of 5 parts are fetched again.
    expect(s3.gets.get(key('weights.bin'))).toBe(3);
    expect(r.resumedBytes).toBe(128 * KiB);
    expect(Buffer.compare(await fs.readFile(path.join(r.dir, 'weights.bin')), big)).toBe(0);
  });

  it('refuses an object replaced during the download (ETag changed)', async () => {
    let swapped = false;
    const ctx = await setup((k, r) => {
      if (!swapped && k.endsWith('weights.bin') && r.start > 0) {
        swapped = true;
        const ob = ctx.s3.objects.get(`b/${k}`)!;
        ctx.s3.objects.set(`b/${k}`, { ...ob, etag: '"different"' });
      }
      return undefined;
    });
    await expect(ctx.sync({ concurrency: 1 })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('pins every GET to the manifest ETag without a HEAD; a store that disputes it is asked once', async () => {
    const { s3, sync, big, key } = await setup();
    s3.heads.clear(); // publish's own
    const r = await sync();
    expect([...s3.heads.values()].reduce((a, b) => a + b, 0)).toBe(0);
    // The same bytes under another ETag (a mirrored bucket, an identical re-upload).
    const ob = s3.objects.get(`b/${key('weights.bin')}`)!;
    s3.objects.set(`b/${key('weights.bin')}`, { ...ob, etag: '"mirrored-copy"' });
    const again = await sync({ storeDir: path.join(tmp, 'store2') });
    expect(s3.heads.get(key('weights.bin'))).toBe(1);
    expect(Buffer.compare(await fs.readFile(path.join(again.dir, 'weights.bin')), big)).toBe(0);
    expect(r.revision).toBe(again.revision);
  });

  it('names a missing object as listed in the manifest', async () => {
    const { s3, sync, key } = await setup();
    s3.objects.delete(`b/${key('weights.bin')}`);
    await expect(sync()).rejects.toThrow(`Missing object s3://b/${key('weights.bin')} (endpoint memory://) (listed in the manifest as 'weights.bin')`);
  });

  it('refuses an object whose size differs from the manifest', async () => {
    const { s3, sync, key } = await setup();
    const ob = s3.objects.get(`b/${key('weights.bin')}`)!;
    s3.objects.set(`b/${key('weights.bin')}`, { ...ob, body: ob.body.subarray(1) });
    await expect(sync()).rejects.toThrow(/Size mismatch for 'weights.bin'/);
  });

  it('refuses an object whose bytes are wrong (right size), naming it', async () => {
    const { s3, sync, key } = await setup();
    const ob = s3.objects.get(`b/${key('weights.bin')}`)!;
    const bad = Uint8Array.from(ob.body);
    bad[200 * KiB] = bad[200 * KiB]! ^ 1;
    s3.objects.set(`b/${key('weights.bin')}`, { ...ob, body: bad });
    const err = await sync().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unprocessable_entity' });
    expect((err as Error).message).toMatch(parts ? /sha256 mismatch for 'weights.bin' part 3 \(bytes 196608-262143\)/ : /sha256 mismatch for 'weights.bin'/);
    expect((err as Error).message).toContain(`s3://b/${key('weights.bin')}`);
    await expect(fs.readlink(path.join(tmp, 'store', 'current'))).rejects.toThrow();
  });

  it('discards a resumed file that fails verification and downloads it again', async () => {
    const { sync, big, pub } = await setup();
    const store = path.join(tmp, 'store');
    await fs.mkdir(path.join(store, 'tmp'), { recursive: true });
    const sha = pub.manifest.files.find((f) => f.path === 'weights.bin')!.sha256;
    // A part map claiming part 0 done over a temp file of zeros (a torn write from a crash).
    await fs.writeFile(path.join(store, 'tmp', `${sha}.part`), Buffer.alloc(big.length));
    const etag = pub.manifest.files.find((f) => f.path === 'weights.bin')!.etag!;
    await fs.writeFile(path.join(store, 'tmp', `${sha}.map.json`), JSON.stringify({ sha256: sha, size: big.length, partSize: 64 * KiB, etag, done: [0] }));
    const r = await sync();
    // With part hashes the torn part is found before it counts; without, the whole file restarts.
    expect(r.resumedBytes).toBe(parts ? 0 : 64 * KiB);
    expect(Buffer.compare(await fs.readFile(path.join(r.dir, 'weights.bin')), big)).toBe(0);
  });

  it.runIf(parts !== null)('keeps the resumed parts that still verify and fetches only the torn ones', async () => {
    const { s3, sync, big, pub, key } = await setup();
    const store = path.join(tmp, 'store');
    await fs.mkdir(path.join(store, 'tmp'), { recursive: true });
    const f = pub.manifest.files.find((x) => x.path === 'weights.bin')!;
    // Parts 0–2 recorded done: part 1 has its bytes, parts 0 and 2 are zeros (torn).
    const onDisk = Buffer.alloc(big.length);
    big.copy(onDisk, 64 * KiB, 64 * KiB, 128 * KiB);
    await fs.writeFile(path.join(store, 'tmp', `${f.sha256}.part`), onDisk);
    await fs.writeFile(
      path.join(store, 'tmp', `${f.sha256}.map.json`),
      JSON.stringify({ sha256: f.sha256, size: big.length, partSize: 64 * KiB, etag: f.etag, done: [0, 1, 2] }),
    );
    const r = await sync();
    expect(r.resumedBytes).toBe(64 * KiB);
    expect(s3.gets.get(key('weights.bin'))).toBe(4);
    expect(Buffer.compare(await fs.readFile(path.join(r.dir, 'weights.bin')), big)).toBe(0);
  });

  it.runIf(parts !== null)('fetches a part damaged on the way once more, and succeeds', async () => {
    const seen = new Set<string>();
    const { sync, big } = await setup((k, r) => {
      const id = `${k}@${r.start}`;
      if (!k.endsWith('weights.bin') || r.start !== 128 * KiB || seen.has(id)) return undefined;
      seen.add(id);
      return { kind: 'corrupt' };
    });
    const progress: number[] = [];
    const r = await sync({ onProgress: (p) => progress.push(p.bytesDone) });
    expect(r.retries).toBe(1);
    expect(r.downloadedBytes).toBe(big.length + 7);
    // The damaged part's bytes were given back: progress ends at the real total.
    expect(progress.at(-1)).toBe(big.length + 7);
    expect(Buffer.compare(await fs.readFile(path.join(r.dir, 'weights.bin')), big)).toBe(0);
  });

  it.each(['auto', 'direct', 'page-cache'] as const)('writes %s: identical files, and the result names the path the parts took', async (writes) => {
    const { sync, big } = await setup();
    const r = await sync({ writes, storeDir: path.join(tmp, `store-${writes}`) });
    expect(Buffer.compare(await fs.readFile(path.join(r.dir, 'weights.bin')), big)).toBe(0);
    expect(Buffer.compare(await fs.readFile(path.join(r.dir, 'z-copy.bin')), big)).toBe(0);
    // Files without part hashes are read back by the hasher, so they stay in the page cache;
    // O_DIRECT is used where the filesystem has it (else the page cache, and no stall figures).
    expect(['direct', 'page-cache']).toContain(r.writes);
    if (writes === 'page-cache' || parts === null) expect(r.writes).toBe('page-cache');
    expect(r.writeStallShare === null).toBe(r.writes === 'page-cache');
  });

  it('validates its options', async () => {
    const { s3 } = await setup();
    await expect(syncModel({ s3, bucket: 'b', model: 'm', storeDir: tmp })).rejects.toThrow(/exactly one of ref or revision/);
    await expect(syncModel({ s3, bucket: 'b', model: '../x', ref: 'stable', storeDir: tmp })).rejects.toMatchObject({ code: 'invalid_request_error' });
  });
});

describe('syncModel after a crash between a blob and its part map', () => {
  it('removes resume state whose blob is already in the store (no later sync fetches that file again)', async () => {
    hashPartSize = 64 * KiB;
    hashLeafSize = 16 * KiB;
    nativeHash = true;
    const { big, sync } = await setup();
    await sync();
    const sha = createHash('sha256').update(big).digest('hex');
    const tmpDir = path.join(tmp, 'store', 'tmp');
    // What a kill -9 right after the blob's rename leaves: its map (and a part file) in tmp/.
    await fs.writeFile(path.join(tmpDir, `${sha}.map.json`), JSON.stringify({ sha256: sha, size: big.length, partSize: 64 * KiB, done: [0, 1, 2, 3, 4] }));
    await fs.writeFile(path.join(tmpDir, `${sha}.part`), big);
    // Resume state of a file not in the store yet stays.
    const pending = 'f'.repeat(64);
    await fs.writeFile(path.join(tmpDir, `${pending}.map.json`), '{}');
    const r = await sync();
    expect(r.downloadedBytes).toBe(0);
    expect(await fs.readdir(tmpDir)).toEqual([`${pending}.map.json`]);
  });
});
