import { describe, expect, it } from 'vitest';
import { s3Keys } from '#shared/manifest.ts';
import { createMemoryObjectStore } from '../adapters/node/weights/memory-object-store.ts';
import { resolveRef, writeRef } from './refs.ts';

const A = '0123456789abcdef';
const B = 'fedcba9876543210';

describe('remote refs', () => {
  it('moves and resolves refs', async () => {
    const s3 = createMemoryObjectStore();
    for (const model of ['motif-2.6b', 'Org/Model-1']) {
      await s3.putText('b', s3Keys.manifest(model, A), '{}');
      await s3.putText('b', s3Keys.manifest(model, B), '{}');
      await writeRef({ s3, bucket: 'b', model, ref: 'stable', revision: A });
    }
    await writeRef({ s3, bucket: 'b', model: 'motif-2.6b', ref: 'canary', revision: B });
    expect(await resolveRef({ s3, bucket: 'b', model: 'motif-2.6b', ref: 'canary' })).toBe(B);
  });

  it.each([
    ['a ref holding garbage', 'not-a-revision', /does not hold a revision id/],
    ['a ref holding a path', '../../etc/passwd', /does not hold a revision id/],
  ])('refuses %s', async (_n, text, why) => {
    const s3 = createMemoryObjectStore();
    await s3.putText('b', s3Keys.ref('m', 'stable'), text);
    await expect(resolveRef({ s3, bucket: 'b', model: 'm', ref: 'stable' })).rejects.toThrow(why);
  });

  it('refuses bad names before touching the store', async () => {
    const s3 = createMemoryObjectStore();
    await expect(resolveRef({ s3, bucket: 'b', model: 'a/../b', ref: 'stable' })).rejects.toMatchObject({ code: 'invalid_request_error' });
    await expect(resolveRef({ s3, bucket: 'b', model: 'm', ref: 'a/b' })).rejects.toMatchObject({ code: 'invalid_request_error' });
  });
});
