/** gc, leases and openLocalSnapshot on a real temp store filled by syncModel (memory S3). */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gcStore, listLocal } from './gc.ts';
import { openLocalSnapshot } from './local-snapshot.ts';
import { createMemoryObjectStore } from './memory-object-store.ts';
import { publishModel } from './publish.ts';
import { acquireLease } from './store-lock.ts';
import { syncModel } from './sync.ts';

let tmp: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'weights-gc-'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Publish and sync three revisions sharing `shared.bin`; returns their ids in order. */
async function threeRevisions(store: string): Promise<{ revs: string[]; shas: string[][] }> {
  const s3 = createMemoryObjectStore();
  const shared = randomBytes(1000);
  const revs: string[] = [];
  const shas: string[][] = [];
  for (let i = 0; i < 3; i++) {
    const dir = path.join(tmp, `v${i}`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'shared.bin'), shared);
    await fs.writeFile(path.join(dir, 'own.bin'), randomBytes(500 + i));
    const p = await publishModel({ s3, bucket: 'b', model: 'm', fromDir: dir, ref: 'stable' });
    await syncModel({ s3, bucket: 'b', model: 'm', ref: 'stable', storeDir: store });
    revs.push(p.revision);
    shas.push(p.manifest.files.map((f) => f.sha256));
  }
  return { revs, shas };
}

describe('store gc', () => {
  it('keeps current and leased revisions and the blobs they use; removes the rest', async () => {
    const store = path.join(tmp, 'store');
    const { revs, shas } = await threeRevisions(store);
    const [r0, r1, r2] = revs as [string, string, string];
    const lease = await acquireLease(store, r1, 'replica-a');

    const dry = await gcStore(store, { dryRun: true });
    expect(dry.removedRevisions).toEqual([r0]);
    expect((await listLocal(store)).revisions).toHaveLength(3);

    const r = await gcStore(store);
    expect(r.removedRevisions).toEqual([r0]);
    expect(r.kept.sort()).toEqual([r1, r2].sort());
    // Only r0's own file goes; shared.bin is still used by r1 and r2.
    expect(r.removedBlobs).toEqual(shas[0]!.filter((s) => !shas[1]!.includes(s)));
    expect(r.freedBytes).toBe(500);
    expect((await openLocalSnapshot(store))?.revision).toBe(r2);

    await lease.release();
    const again = await gcStore(store);
    expect(again.removedRevisions).toEqual([r1]);
    expect((await listLocal(store)).revisions).toEqual([r2]);
    expect((await fs.readdir(path.join(store, 'blobs'))).sort()).toEqual([...shas[2]!].sort());
  });

  it('openLocalSnapshot: null on an empty store, refuses a damaged snapshot', async () => {
    const store = path.join(tmp, 'store');
    expect(await openLocalSnapshot(store)).toBeNull();
    const { revs } = await threeRevisions(store);
    const snap = await openLocalSnapshot(store, { deep: true });
    expect(snap?.revision).toBe(revs[2]);
    await fs.truncate(path.join(snap!.dir, 'own.bin'), 10);
    await expect(openLocalSnapshot(store)).rejects.toThrow(/'own.bin' is 10 bytes, expected 502/);
  });
});
