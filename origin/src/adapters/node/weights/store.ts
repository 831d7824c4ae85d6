/**
 * The local content store an origin node loads weights from (Node I/O):
 *
 *   <store>/blobs/<sha256>            verified file contents, one per distinct hash
 *   <store>/snapshots/<rev>/<path>    HF-style model dir: hard links (or symlinks) to blobs
 *   <store>/manifests/<rev>.json      the verified manifest; written last = snapshot complete
 *   <store>/current                   symlink → snapshots/<rev>, swapped by rename (atomic)
 *   <store>/tmp/                      in-progress downloads and their part maps (resume)
 *   <store>/leases/<rev>/<holder>     revisions a running engine still uses (gc keeps them)
 *   <store>/lock                      one writer at a time (sync, gc, import)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '#shared/errors.ts';
import type { Manifest } from '#shared/manifest.ts';
import { RevisionId } from '../../../weights/names.ts';

export interface StoreLayout {
  root: string;
  blobs: string;
  snapshots: string;
  manifests: string;
  tmp: string;
  leases: string;
  current: string;
  lock: string;
}

/** Paths of a store rooted at `storeDir` (nothing is created). */
export function storeLayout(storeDir: string): StoreLayout {
  const root = path.resolve(storeDir);
  return {
    root,
    blobs: path.join(root, 'blobs'),
    snapshots: path.join(root, 'snapshots'),
    manifests: path.join(root, 'manifests'),
    tmp: path.join(root, 'tmp'),
    leases: path.join(root, 'leases'),
    current: path.join(root, 'current'),
    lock: path.join(root, 'lock'),
  };
}

export async function ensureLayout(l: StoreLayout): Promise<void> {
  for (const d of [l.blobs, l.snapshots, l.manifests, l.tmp, l.leases]) await fs.mkdir(d, { recursive: true });
}

export const blobPath = (l: StoreLayout, sha256: string) => path.join(l.blobs, sha256);
export const snapshotPath = (l: StoreLayout, rev: string) => path.join(l.snapshots, rev);
export const manifestPath = (l: StoreLayout, rev: string) => path.join(l.manifests, `${rev}.json`);

/** True when a verified blob of this hash and size is present. */
export async function hasBlob(l: StoreLayout, sha256: string, size: number): Promise<boolean> {
  const st = await fs.stat(blobPath(l, sha256)).catch(() => null);
  return st?.isFile() === true && st.size === size;
}

/** Revision `current` points to, or null when the store has none. */
export async function readCurrent(l: StoreLayout): Promise<string | null> {
  const target = await fs.readlink(l.current).catch(() => null);
  if (target === null) return null;
  const rev = RevisionId.safeParse(path.basename(target));
  if (!rev.success) throw new ApiError('unprocessable_entity', `Store ${l.root}: 'current' points to '${target}', not a snapshot`);
  return rev.data;
}

/**
 * Build `snapshots/<rev>/` from blobs (in a temp dir, renamed into place) and record its manifest.
 * Hard links keep the snapshot a plain directory of files; symlinks are the fallback where hard
 * links are refused. Idempotent: an already complete snapshot is left alone.
 */
export async function buildSnapshot(l: StoreLayout, m: Manifest): Promise<string> {
  const dest = snapshotPath(l, m.revision);
  if (await isComplete(l, m.revision)) return dest;
  const tmp = path.join(l.snapshots, `.tmp-${m.revision}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp, { recursive: true });
  try {
    const dirs = new Set<string>([tmp]);
    for (const f of m.files) {
      const target = path.join(tmp, ...f.path.split('/'));
      await fs.mkdir(path.dirname(target), { recursive: true });
      for (let d = path.dirname(target); d.startsWith(tmp); d = path.dirname(d)) dirs.add(d);
      const blob = blobPath(l, f.sha256);
      await fs.link(blob, target).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV' && err.code !== 'EPERM' && err.code !== 'EMLINK') throw err;
        await fs.symlink(path.relative(path.dirname(path.join(dest, ...f.path.split('/'))), blob), target);
      });
    }
    // The links are directory entries: on disk before the snapshot is renamed into place.
    for (const d of dirs) await fsyncDir(d);
    // A leftover snapshot dir without its manifest is from a crash mid-build: replace it.
    await fs.rm(dest, { recursive: true, force: true });
    await fs.rename(tmp, dest);
    await fsyncDir(l.snapshots);
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  await writeFileAtomic(manifestPath(l, m.revision), `${JSON.stringify(m, null, 2)}\n`, { durable: true });
  return dest;
}

export async function isComplete(l: StoreLayout, rev: string): Promise<boolean> {
  const [m, d] = await Promise.all([fs.stat(manifestPath(l, rev)).catch(() => null), fs.stat(snapshotPath(l, rev)).catch(() => null)]);
  return m !== null && d?.isDirectory() === true;
}

/** Point `current` at a snapshot: a new symlink renamed over the old one (atomic on POSIX). */
export async function setCurrent(l: StoreLayout, rev: string): Promise<void> {
  const tmp = path.join(l.root, `.current-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.symlink(path.join('snapshots', rev), tmp);
  try {
    await fs.rename(tmp, l.current);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(l.root);
}

/**
 * Remove half-written temp files a crash left behind (atomic-write temps, bundle imports, O_DIRECT
 * probe files). Part files and part maps stay while they are resume state; once their blob is in
 * the store they are not (a crash between a blob's rename and its map's removal leaves the map,
 * and no later sync fetches that file again to remove it). Call with the store lock held.
 */
export async function cleanStaleTemp(l: StoreLayout): Promise<void> {
  for (const f of await fs.readdir(l.tmp).catch(() => [] as string[])) {
    const finished = /^([0-9a-f]{64})\.(part|map\.json)$/.exec(f);
    const stale = /\.tmp-\d+-[0-9a-f]+$/.test(f) || f.includes('.import-') || f.startsWith('.direct-probe-');
    if (stale || (finished && (await fs.stat(blobPath(l, finished[1]!)).catch(() => null)))) await fs.rm(path.join(l.tmp, f), { force: true });
  }
}

/**
 * Write via a temp file + rename so readers see the old or the new content, never half. With
 * `durable`, synced before and after the rename, so a power cut leaves one of them on disk (a
 * manifest that `current` may soon name must not come back empty); without, for state that is
 * checked when read (part maps: resume re-hashes every part they list).
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: { durable?: boolean } = {}): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    if (opts.durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  if (opts.durable) await fsyncDir(path.dirname(file));
}

/** Persist a rename in a directory (best effort: some filesystems refuse fsync on dirs). */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r').catch(() => null);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}
