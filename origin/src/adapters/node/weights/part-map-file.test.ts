import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planParts } from '../../../weights/part-map.ts';
import { createPartMapWriter, loadPartMap } from './part-map-file.ts';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'part-map-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const base = { sha256: 'a'.repeat(64), size: 10_000, partSize: 4096, etag: '"e"' };

describe('part map', () => {
  it('plans parts with a short last one, and none for an empty file', () => {
    expect(planParts(10_000, 4096).map((p) => [p.start, p.end])).toEqual([
      [0, 4095],
      [4096, 8191],
      [8192, 9999],
    ]);
    expect(planParts(0, 4096)).toEqual([]);
  });

  it('coalesces flushes into writes of the latest set; idle() waits for the last one', async () => {
    const file = path.join(dir, 'm.json');
    const done = new Set<number>();
    const w = createPartMapWriter(file, base, done);
    done.add(2);
    const first = w.flush();
    done.add(0);
    const second = w.flush(); // requested while the first write is in flight
    done.add(1);
    void w.flush();
    await w.idle();
    expect((await loadPartMap(file, base))?.done).toEqual([0, 1, 2]);
    await expect(Promise.all([first, second])).resolves.toBeTruthy();
    // A map for another object version or part size is ignored.
    expect(await loadPartMap(file, { ...base, etag: '"other"' })).toBeNull();
    expect(await loadPartMap(file, { ...base, partSize: 8192 })).toBeNull();
  });
});
