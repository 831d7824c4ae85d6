import { describe, expect, it } from 'vitest';
import { s3Keys } from '#shared/manifest.ts';
import { createMemoryObjectStore } from '../adapters/node/weights/memory-object-store.ts';
import { watchRef } from './watch.ts';

const REV_A = 'aaaaaaaaaaaaaaaa';
const REV_B = 'bbbbbbbbbbbbbbbb';

describe('watchRef', () => {
  it('reports each move of the ref once, after the baseline', async () => {
    const s3 = createMemoryObjectStore();
    await s3.putText('b', s3Keys.ref('m', 'stable'), REV_A);
    const seen: [string, string | undefined][] = [];
    const w = watchRef({ s3, bucket: 'b', model: 'm', ref: 'stable', intervalMs: 60_000, onNewRevision: (r, p) => void seen.push([r, p]) });
    try {
      expect(await w.check()).toBe(REV_A);
      expect(await w.check()).toBe(REV_A);
      await s3.putText('b', s3Keys.ref('m', 'stable'), `${REV_B}\n`);
      expect(await w.check()).toBe(REV_B);
      expect(await w.check()).toBe(REV_B);
      expect(seen).toEqual([[REV_B, REV_A]]);
    } finally {
      w.stop();
    }
  });

  it('retries a revision whose callback failed, and reports errors without throwing', async () => {
    const s3 = createMemoryObjectStore();
    await s3.putText('b', s3Keys.ref('m', 'stable'), REV_B);
    const errors: unknown[] = [];
    let calls = 0;
    const w = watchRef({
      s3,
      bucket: 'b',
      model: 'm',
      ref: 'stable',
      intervalMs: 60_000,
      initial: REV_A,
      onNewRevision: () => {
        if (++calls === 1) throw new Error('sync failed');
      },
      onError: (e) => errors.push(e),
    });
    try {
      expect(await w.check()).toBeNull();
      expect(await w.check()).toBe(REV_B);
      expect(calls).toBe(2);
      await s3.putText('b', s3Keys.ref('m', 'stable'), 'garbage');
      expect(await w.check()).toBeNull();
      expect(errors.map((e) => (e as Error).message)).toEqual(['sync failed', expect.stringMatching(/does not hold a revision id/)]);
    } finally {
      w.stop();
    }
  });

  it('rejects bad options at creation', () => {
    const s3 = createMemoryObjectStore();
    expect(() => watchRef({ s3, bucket: 'b', model: 'm', ref: 'stable', intervalMs: 1, onNewRevision: () => undefined })).toThrow(/intervalMs/);
  });
});
