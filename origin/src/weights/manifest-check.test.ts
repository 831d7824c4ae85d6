import { describe, expect, it } from 'vitest';
import { type Manifest, revisionId } from '#shared/manifest.ts';
import { parseManifest } from './manifest-check.ts';

const sha = (c: string) => c.repeat(64);

type Entry = { path: string; size: number; sha256: string; parts?: { size: number; leaf?: number; sha256: string[] } };
async function manifest(files: Entry[], over: Partial<Manifest> = {}): Promise<string> {
  return JSON.stringify({ schema: 1, model: 'm', revision: await revisionId(files), created_at: 'now', files, ...over });
}

describe('manifest verification', () => {
  it('accepts a manifest whose revision is the hash of its file list', async () => {
    const text = await manifest([
      { path: 'a/b.json', size: 1, sha256: sha('a') },
      { path: 'c', size: 2, sha256: sha('b') },
    ]);
    const m = await parseManifest(text, 'here', { model: 'm' });
    expect(m.files).toHaveLength(2);
  });

  it.each([
    [
      'a revision that is not the hash of the files',
      async () => manifest([{ path: 'a', size: 1, sha256: sha('a') }], { revision: '0123456789abcdef' }),
      /hashes to/,
    ],
    ['another model', async () => manifest([{ path: 'a', size: 1, sha256: sha('a') }], { model: 'other' }), /for model 'other'/],
    [
      'a model id escaping upwards',
      async () => manifest([{ path: 'a', size: 1, sha256: sha('a') }], { model: '../../escaped' }),
      /model "..\/..\/escaped": model ids look like/,
    ],
    ['a model id with ..', async () => manifest([{ path: 'a', size: 1, sha256: sha('a') }], { model: 'org/a..b' }), /must not contain \.\./],
    ['an absolute model id', async () => manifest([{ path: 'a', size: 1, sha256: sha('a') }], { model: '/etc' }), /model ids look like/],
    [
      'duplicate paths',
      async () =>
        manifest([
          { path: 'a', size: 1, sha256: sha('a') },
          { path: 'a', size: 1, sha256: sha('a') },
        ]),
      /twice/,
    ],
    [
      'a path that is both file and dir',
      async () =>
        manifest([
          { path: 'a', size: 1, sha256: sha('a') },
          { path: 'a/b', size: 1, sha256: sha('b') },
        ]),
      /both a file and a directory/,
    ],
    ['a path escaping the snapshot', async () => manifest([{ path: '../x', size: 1, sha256: sha('a') }]), /invalid/],
    ['an absolute path', async () => manifest([{ path: '/etc/x', size: 1, sha256: sha('a') }]), /invalid/],
    ['an empty path segment', async () => manifest([{ path: 'a//b', size: 1, sha256: sha('a') }]), /non-canonical/],
    ['an upper-case hash', async () => manifest([{ path: 'a', size: 1, sha256: sha('A') }]), /invalid/],
    ['no files', async () => JSON.stringify({ schema: 1, model: 'm', revision: 'x', created_at: 'now', files: [] }), /invalid/],
    ['not JSON', async () => '{', /not valid JSON/],
    [
      'part hashes that do not cover the file',
      async () => manifest([{ path: 'a', size: 10_000, sha256: sha('a'), parts: { size: 4096, sha256: [sha('b'), sha('c')] } }]),
      /one hash per part/,
    ],
    [
      'parts smaller than 4 KiB',
      async () => manifest([{ path: 'a', size: 10, sha256: sha('a'), parts: { size: 8, sha256: [sha('b'), sha('c')] } }]),
      /invalid/,
    ],
    [
      'a leaf size that does not divide the part size',
      async () => manifest([{ path: 'a', size: 10_000, sha256: sha('a'), parts: { size: 8192, leaf: 5000, sha256: [sha('b'), sha('c')] } }]),
      /leaf must divide/,
    ],
    [
      'a leaf size edited without a new revision id',
      async () => {
        const honest = { path: 'a', size: 10_000, sha256: sha('a'), parts: { size: 8192, leaf: 4096, sha256: [sha('b'), sha('c')] } };
        const rev = await revisionId([honest]);
        return manifest([{ ...honest, parts: { ...honest.parts, leaf: 8192 } }], { revision: rev });
      },
      /hashes to/,
    ],
    [
      'part hashes edited without a new revision id',
      async () => {
        const honest = { path: 'a', size: 5000, sha256: sha('a'), parts: { size: 4096, sha256: [sha('b'), sha('c')] } };
        const rev = await revisionId([honest]);
        return manifest([{ ...honest, parts: { size: 4096, sha256: [sha('b'), sha('d')] } }], { revision: rev });
      },
      /hashes to/,
    ],
  ])('refuses %s', async (_n, make, why) => {
    await expect(parseManifest(await make(), 'here', { model: 'm' })).rejects.toThrow(why);
  });

  it('accepts part hashes (one per part, the last part shorter) and binds them into the revision id', async () => {
    const plain = { path: 'a', size: 5000, sha256: sha('a') };
    const withParts = { ...plain, parts: { size: 4096, sha256: [sha('b'), sha('c')] } };
    const m = await parseManifest(await manifest([withParts]), 'here');
    expect(m.files[0]!.parts?.sha256).toHaveLength(2);
    expect(await revisionId([withParts])).not.toBe(await revisionId([plain]));
    // An empty file has no parts.
    await expect(parseManifest(await manifest([{ path: 'e', size: 0, sha256: sha('e'), parts: { size: 4096, sha256: [] } }]), 'here')).resolves.toBeTruthy();
  });

  it('checks the expected revision', async () => {
    const text = await manifest([{ path: 'a', size: 1, sha256: sha('a') }]);
    await expect(parseManifest(text, 'here', { revision: 'ffffffffffffffff' })).rejects.toThrow(/expected 'ffffffffffffffff'/);
  });
});
