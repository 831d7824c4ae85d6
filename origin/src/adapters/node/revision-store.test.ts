/** The rollout's RevisionStore over a real temp content store, fed from the in-memory S3. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { s3Keys } from '#shared/manifest.ts';
import { createStoreRevisions } from './revision-store.ts';
import { createMemoryObjectStore } from './weights/memory-object-store.ts';
import { publishModel } from './weights/publish.ts';
import { syncModel } from './weights/sync.ts';

const FIXTURE = path.resolve(import.meta.dirname, '../../../../test/fixtures/tiny-motif');
let tmp: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'revision-store-'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A copy of the fixture with one extra file, so it is another revision. */
async function variant(name: string, extra: string): Promise<string> {
  const dir = path.join(tmp, name);
  await fs.cp(FIXTURE, dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'notes.txt'), extra);
  return dir;
}

describe('store revisions', () => {
  it('stages without activating, activates, leases and collects', async () => {
    const s3 = createMemoryObjectStore();
    const store = path.join(tmp, 'store');
    const a = await publishModel({ s3, bucket: 'b', model: 'm', fromDir: FIXTURE, ref: 'stable' });
    const b = await publishModel({ s3, bucket: 'b', model: 'm', fromDir: await variant('b', 'revision b') });
    await syncModel({ s3, bucket: 'b', model: 'm', ref: 'stable', storeDir: store });
    const logs: string[] = [];
    const revs = createStoreRevisions({ s3, bucket: 'b', model: 'm', storeDir: store, holder: 'replica-1', log: (l) => logs.push(l) });
    const leaseA = await revs.lease(a.revision);

    const staged = await revs.stage(b.revision, new AbortController().signal);
    const weights = (await fs.stat(path.join(FIXTURE, 'model.safetensors'))).size;
    expect(staged).toEqual({ revision: b.revision, dir: path.join(store, 'snapshots', b.revision), weightBytes: weights });
    expect(await fs.readFile(path.join(staged.dir, 'notes.txt'), 'utf8')).toBe('revision b');
    // Staging leaves the node's current revision alone.
    expect(path.basename(await fs.readlink(path.join(store, 'current')))).toBe(a.revision);

    await revs.activate(b.revision);
    expect(path.basename(await fs.readlink(path.join(store, 'current')))).toBe(b.revision);
    // A is not current any more but leased: gc keeps it; once released, gc drops it.
    await revs.collect();
    expect((await fs.readdir(path.join(store, 'snapshots'))).sort()).toEqual([a.revision, b.revision].sort());
    await leaseA.release();
    await leaseA.release();
    await revs.collect();
    expect(await fs.readdir(path.join(store, 'snapshots'))).toEqual([b.revision]);
    expect(logs.some((l) => l.includes(`removed revision(s) ${a.revision}`))).toBe(true);
  });

  it('refuses a revision whose object does not match its sha256 and keeps current', async () => {
    const s3 = createMemoryObjectStore();
    const store = path.join(tmp, 'store');
    const a = await publishModel({ s3, bucket: 'b', model: 'm', fromDir: FIXTURE, ref: 'stable' });
    await syncModel({ s3, bucket: 'b', model: 'm', ref: 'stable', storeDir: store });
    const c = await publishModel({ s3, bucket: 'b', model: 'm', fromDir: await variant('c', 'revision c') });
    const text = 'revision X';
    await s3.upload('b', s3Keys.file('m', c.revision, 'notes.txt'), { body: [new TextEncoder().encode(text)], size: text.length });
    const revs = createStoreRevisions({ s3, bucket: 'b', model: 'm', storeDir: store, holder: 'replica-1' });
    const err = await revs.stage(c.revision, new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('unprocessable_entity');
    expect((err as ApiError).message).toContain('sha256');
    await expect(revs.activate(c.revision)).rejects.toThrow('no complete snapshot');
    expect(path.basename(await fs.readlink(path.join(store, 'current')))).toBe(a.revision);
  });
});
