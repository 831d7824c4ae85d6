import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revisionId, s3Keys } from '#shared/manifest.ts';
import { createMemoryObjectStore } from '../adapters/node/weights/memory-object-store.ts';
import { ensureLayout, manifestPath, setCurrent, snapshotPath, storeLayout } from '../adapters/node/weights/store.ts';
import { writeRef } from '../weights/refs.ts';
import { groupModelKeys, listBucket, listStore, storedRevisionModel } from './weights-listing.ts';

const A = '0123456789abcdef';
const B = 'fedcba9876543210';

describe('groupModelKeys', () => {
  it('finds models (also Org/Name ids), refs and published revisions in a flat key listing', () => {
    const g = groupModelKeys([
      { key: s3Keys.ref('motif-2.6b', 'stable'), size: 17 },
      { key: s3Keys.file('motif-2.6b', A, 'model.safetensors'), size: 1000 },
      { key: s3Keys.file('motif-2.6b', A, 'sub/config.json'), size: 24 },
      { key: s3Keys.manifest('motif-2.6b', A), size: 300 },
      { key: s3Keys.ref('Org/Model', 'canary'), size: 17 },
      { key: s3Keys.manifest('Org/Model', B), size: 300 },
      // Inside a revision, a file under refs/ is a file, not a ref of a model "motif-2.6b/revisions/…".
      { key: s3Keys.file('motif-2.6b', A, 'refs/x'), size: 5 },
      { key: 'models/not a model/refs/stable', size: 1 },
      { key: 'elsewhere/refs/stable', size: 1 },
    ]);
    expect([...g.keys()].sort()).toEqual(['Org/Model', 'motif-2.6b']);
    expect([...g.get('motif-2.6b')!.refs]).toEqual(['stable']);
    expect(g.get('motif-2.6b')!.revisions.get(A)).toEqual({ bytes: 1029, manifest: true });
    expect([...g.get('Org/Model')!.refs]).toEqual(['canary']);
    expect(g.get('Org/Model')!.revisions.get(B)).toEqual({ bytes: 0, manifest: true });
  });
});

describe('listBucket', () => {
  it('lists every model with refs resolved, or one; revisions without a manifest are not published', async () => {
    const s3 = createMemoryObjectStore();
    for (const model of ['motif-2.6b', 'Org/Model-1']) {
      await s3.putText('b', s3Keys.file(model, A, 'config.json'), '{}');
      await s3.putText('b', s3Keys.manifest(model, A), '{}');
      await writeRef({ s3, bucket: 'b', model, ref: 'stable', revision: A });
    }
    await s3.putText('b', s3Keys.file('motif-2.6b', B, 'config.json'), '{}'); // an interrupted publish
    expect(await listBucket(s3, 'b')).toEqual([
      { model: 'motif-2.6b', refs: { stable: A }, revisions: [{ revision: A, bytes: 2 }] },
      { model: 'Org/Model-1', refs: { stable: A }, revisions: [{ revision: A, bytes: 2 }] },
    ]);
    expect((await listBucket(s3, 'b', 'Org/Model-1')).map((m) => m.model)).toEqual(['Org/Model-1']);
    expect(await listBucket(s3, 'b', 'none')).toEqual([]);
  });
});

describe('listStore', () => {
  let tmp: string;
  let revs: Record<string, string>;

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'weights-listing-'));
    const l = storeLayout(tmp);
    await ensureLayout(l);
    revs = {};
    for (const [model, size] of [
      ['motif-tiny', 10],
      ['motif-2.6b', 20],
    ] as const) {
      const files = [{ path: 'config.json', size, sha256: 'a'.repeat(64) }];
      const revision = await revisionId(files);
      revs[model] = revision;
      await fs.writeFile(manifestPath(l, revision), JSON.stringify({ schema: 1, model, revision, created_at: new Date(0).toISOString(), files }));
      await fs.mkdir(snapshotPath(l, revision), { recursive: true });
    }
    await setCurrent(l, revs['motif-tiny']!);
  });

  afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

  it('names the model of each revision (one store holds any model) and marks current', async () => {
    const all = await listStore(tmp);
    expect(all).toHaveLength(2);
    expect(all).toContainEqual({ revision: revs['motif-tiny'], model: 'motif-tiny', bytes: 10, current: true });
    expect(all).toContainEqual({ revision: revs['motif-2.6b'], model: 'motif-2.6b', bytes: 20, current: false });
    expect(await listStore(tmp, 'motif-2.6b')).toEqual([{ revision: revs['motif-2.6b'], model: 'motif-2.6b', bytes: 20, current: false }]);
    expect(await listStore(path.join(tmp, 'missing'))).toEqual([]);
  });

  it('tells which model a stored revision is of (export needs no --model)', async () => {
    expect(await storedRevisionModel(tmp, revs['motif-2.6b']!)).toBe('motif-2.6b');
    expect(await storedRevisionModel(tmp, A)).toBeNull();
  });
});
