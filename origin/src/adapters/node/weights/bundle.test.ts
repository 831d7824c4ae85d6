import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { revisionId } from '#shared/manifest.ts';
import { END, fileHeader, padding } from '../../../weights/tar.ts';
import { exportBundle, importBundle } from './bundle.ts';
import { createMemoryObjectStore } from './memory-object-store.ts';
import { publishModel } from './publish.ts';
import { syncModel } from './sync.ts';

let tmp: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'weights-bundle-'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function exported(): Promise<{ file: string; rev: string; big: Buffer; longName: string }> {
  const dir = path.join(tmp, 'model');
  const longName = `${'deep/'.repeat(25)}shard.bin`;
  const big = randomBytes(70_001);
  await fs.mkdir(path.join(dir, path.dirname(longName)), { recursive: true });
  await fs.writeFile(path.join(dir, longName), big);
  await fs.writeFile(path.join(dir, 'config.json'), '{"hidden_size":64}');
  const s3 = createMemoryObjectStore();
  const p = await publishModel({ s3, bucket: 'b', model: 'm', fromDir: dir, ref: 'stable' });
  await syncModel({ s3, bucket: 'b', model: 'm', ref: 'stable', storeDir: path.join(tmp, 'src') });
  const file = path.join(tmp, 'm.tar');
  const r = await exportBundle({ storeDir: path.join(tmp, 'src'), revision: p.revision, file });
  expect(r.bytes).toBe(big.length + 18);
  return { file, rev: p.revision, big, longName };
}

describe('offline bundles', () => {
  it('round-trips a snapshot through a tar into an empty store and activates it', async () => {
    const { file, rev, big, longName } = await exported();
    const r = await importBundle({ file, storeDir: (model) => path.join(tmp, 'dst', model) });
    expect(r).toMatchObject({ model: 'm', revision: rev, activated: true });
    expect(Buffer.compare(await fs.readFile(path.join(r.dir, longName)), big)).toBe(0);
    expect(await fs.readlink(path.join(tmp, 'dst', 'm', 'current'))).toBe(path.join('snapshots', rev));
  });

  it('refuses a bundle whose file bytes were altered, leaving the store without a current', async () => {
    const { file, big } = await exported();
    const bytes = await fs.readFile(file);
    const at = bytes.indexOf(big.subarray(0, 64));
    bytes[at + 100] = bytes[at + 100]! ^ 0xff;
    await fs.writeFile(file, bytes);
    const store = path.join(tmp, 'dst');
    await expect(importBundle({ file, storeDir: store })).rejects.toThrow(/sha256 mismatch for '.*shard.bin'/);
    await expect(fs.readlink(path.join(store, 'current'))).rejects.toThrow();
  });

  it('refuses a bundle whose manifest was altered', async () => {
    const { file } = await exported();
    const bytes = await fs.readFile(file);
    const at = bytes.indexOf('"size": 18');
    expect(at).toBeGreaterThan(0);
    bytes.write('"size": 19', at);
    // Same length, inside the entry data: the tar stays well-formed, only the manifest lies.
    await fs.writeFile(file, bytes);
    await expect(importBundle({ file, storeDir: path.join(tmp, 'dst') })).rejects.toThrow(/hashes to/);
  });

  it('refuses a truncated archive', async () => {
    const { file } = await exported();
    const st = await fs.stat(file);
    await fs.truncate(file, Math.floor(st.size / 2));
    await expect(importBundle({ file, storeDir: path.join(tmp, 'dst') })).rejects.toThrow(/truncated/);
  });

  it.each(['../../escaped', '..', 'a/../../escaped'])('refuses a bundle naming model %j before any path is built from it', async (model) => {
    // The model is not bound into the revision id, so an edited bundle still verifies otherwise.
    const content = Buffer.from('{}');
    const files = [{ path: 'config.json', size: content.length, sha256: createHash('sha256').update(content).digest('hex') }];
    const manifest = Buffer.from(JSON.stringify({ schema: 1, model, revision: await revisionId(files), created_at: '2026-01-01T00:00:00Z', files }));
    const file = path.join(tmp, 'hostile.tar');
    const entry = (name: string, data: Buffer) => [fileHeader(name, data.length, 0), data, Buffer.alloc(padding(data.length))];
    await fs.writeFile(file, Buffer.concat([...entry('manifest.json', manifest), ...entry('files/config.json', content), END]));
    const asked: string[] = [];
    const storeDir = (m: string) => {
      asked.push(m);
      return path.join(tmp, 'stores', 'dst', m);
    };
    await expect(importBundle({ file, storeDir })).rejects.toThrow(/names model .*model ids/);
    expect(asked).toEqual([]);
    expect(await fs.readdir(tmp)).toEqual(['hostile.tar']);
  });
});
