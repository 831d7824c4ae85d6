import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from '../../origin/src/adapters/s3/index.ts';
import { ensureBucket } from './create-bucket.ts';

let s3: EmbeddedS3;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'motif-bucket-'));
  s3 = await startEmbeddedS3({ dir, bucket: 'already-there' });
});
afterAll(async () => {
  await s3.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ensureBucket', () => {
  it('creates a missing bucket once, then finds it', async () => {
    const config = { ...s3.config, bucket: 'motif-weights' };
    expect(await ensureBucket(config, { waitMs: 0 })).toBe('created');
    expect(await ensureBucket(config, { waitMs: 0 })).toBe('exists');
    expect(await ensureBucket(s3.config, { waitMs: 0 })).toBe('exists');
  });

  it('retries while the store is unreachable, then gives up after the wait', async () => {
    let sleeps = 0;
    const closed = { ...s3.config, endpoint: 'http://127.0.0.1:1', bucket: 'motif-weights' };
    await expect(
      ensureBucket(closed, {
        waitMs: 400,
        sleep: async () => {
          sleeps++;
          await new Promise((r) => setTimeout(r, 30));
        },
      }),
    ).rejects.toThrow();
    expect(sleeps).toBeGreaterThanOrEqual(1);
  });
});
