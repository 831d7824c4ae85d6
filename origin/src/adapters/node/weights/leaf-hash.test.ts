import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Sha256Batch } from '../../../weights/leaf-batcher.ts';
import { nativeSha256Batch, PartDigest, portableSha256Batch } from './leaf-hash.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

describe('PartDigest', () => {
  const bytes = randomBytes(3 * 65536 + 1000);
  it('plain mode is the sha256 of the bytes, however they are fed', () => {
    const d = new PartDigest(null);
    d.update(bytes.subarray(0, 7));
    d.update(bytes.subarray(7));
    expect(d.digest()).toBe(sha(bytes).toString('hex'));
  });
  it("leaf mode is the sha256 of the leaves' digests, reads straddling leaf boundaries", () => {
    const leaf = 65536;
    const leaves = [0, 1, 2, 3].map((i) => sha(bytes.subarray(i * leaf, (i + 1) * leaf)));
    const want = sha(Buffer.concat(leaves)).toString('hex');
    const d = new PartDigest(leaf);
    for (let off = 0; off < bytes.length; off += 40_000) d.update(bytes.subarray(off, off + 40_000));
    expect(d.digest()).toBe(want);
  });
});

const batches: [string, Sha256Batch | null][] = [
  ['portable', portableSha256Batch],
  ['native SHA-NI', nativeSha256Batch()],
];
describe.each(batches)('sha256 batch (%s)', (_name, batch) => {
  it.skipIf(batch === null)('matches node:crypto for every padding case and batch width', () => {
    // Lengths around the 55/56/64-byte padding edges, blocks of unequal counts, 1 MiB leaves.
    const lens = [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 4096, 65_599, 1 << 20, (1 << 20) + 13];
    const msgs = lens.map((n) => randomBytes(n));
    for (let width = 1; width <= 7; width++) {
      for (let at = 0; at < msgs.length; at += width) {
        const group = msgs.slice(at, at + width);
        const out = new Uint8Array(32 * group.length);
        batch!(group, out);
        group.forEach((m, i) => expect(Buffer.from(out.subarray(32 * i, 32 * i + 32)).toString('hex')).toBe(sha(m).toString('hex')));
      }
    }
  });
  it.skipIf(batch === null)('hashes views into a larger buffer (ring chunks are subarrays of one slab)', () => {
    const slab = randomBytes(5 * 4096 + 3);
    const views = [slab.subarray(3, 4099), slab.subarray(4099, 8195), slab.subarray(8195)];
    const out = new Uint8Array(96);
    batch!(views, out);
    views.forEach((v, i) => expect(Buffer.from(out.subarray(32 * i, 32 * i + 32)).equals(sha(v))).toBe(true));
  });
});
