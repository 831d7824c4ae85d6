/**
 * The snapshot `current` points to, checked before an origin serves from it — e.g. when S3 is
 * unreachable at start: serve the local snapshot and say so.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '#shared/errors.ts';
import type { Manifest } from '#shared/manifest.ts';
import { parseManifest } from '../../../weights/manifest-check.ts';
import { sha256File } from './local-files.ts';
import { manifestPath, readCurrent, snapshotPath, storeLayout } from './store.ts';

export interface LocalSnapshot {
  model: string;
  revision: string;
  /** The snapshot dir (HF-style model dir). */
  dir: string;
  manifest: Manifest;
}

/**
 * The current snapshot of `storeDir`, or null when the store has none. Verifies that the recorded
 * manifest is intact and every file is present with its size (`deep: true` also re-hashes every
 * file, which reads all of it). A present but broken snapshot throws ApiError
 * `unprocessable_entity` saying what is wrong.
 */
export async function openLocalSnapshot(storeDir: string, o: { deep?: boolean } = {}): Promise<LocalSnapshot | null> {
  const l = storeLayout(storeDir);
  const revision = await readCurrent(l);
  if (revision === null) return null;
  const mfile = manifestPath(l, revision);
  const text = await fs.readFile(mfile, 'utf8').catch(() => null);
  if (text === null) throw new ApiError('unprocessable_entity', `Store ${l.root}: current revision ${revision} has no manifest (${mfile})`);
  const manifest = await parseManifest(text, mfile, { revision });
  const dir = snapshotPath(l, revision);
  for (const f of manifest.files) {
    const file = path.join(dir, ...f.path.split('/'));
    const st = await fs.stat(file).catch(() => null);
    if (!st?.isFile() || st.size !== f.size) {
      throw new ApiError(
        'unprocessable_entity',
        `Store ${l.root}: snapshot ${revision} file '${f.path}' is ${st ? `${st.size} bytes, expected ${f.size}` : 'missing'}`,
      );
    }
    if (o.deep && (await sha256File(file)) !== f.sha256) {
      throw new ApiError('unprocessable_entity', `Store ${l.root}: snapshot ${revision} file '${f.path}' fails its sha256`);
    }
  }
  return { model: manifest.model, revision, dir, manifest };
}
