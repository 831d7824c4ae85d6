/**
 * Store garbage collection: drop snapshots nobody needs and the blobs only they used. Kept: the
 * `current` revision, revisions with a live lease (an engine still serves them), and any the
 * caller names. Runs under the store lock, so it never races a sync or an import.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseManifest } from '../../../weights/manifest-check.ts';
import { RevisionId } from '../../../weights/names.ts';
import { manifestPath, readCurrent, snapshotPath, storeLayout } from './store.ts';
import { leasedRevisions, withStoreLock } from './store-lock.ts';

export interface GcOptions {
  /** Revisions to keep besides current and leased ones. */
  keep?: string[];
  /** Also delete interrupted downloads (tmp/), giving up their resume state. */
  purgePartial?: boolean;
  /** Report what would be removed without removing it. */
  dryRun?: boolean;
}

export interface GcResult {
  kept: string[];
  removedRevisions: string[];
  removedBlobs: string[];
  freedBytes: number;
}

/** Collect garbage in the store at `storeDir` (see module comment). */
export async function gcStore(storeDir: string, o: GcOptions = {}): Promise<GcResult> {
  const l = storeLayout(storeDir);
  return withStoreLock(l, async () => {
    const current = await readCurrent(l).catch(() => null);
    const keep = new Set([...(o.keep ?? []), ...(await leasedRevisions(l))]);
    if (current) keep.add(current);

    const known = new Set<string>();
    for (const f of await fs.readdir(l.manifests).catch(() => [] as string[])) if (f.endsWith('.json')) known.add(f.slice(0, -5));
    for (const d of await fs.readdir(l.snapshots).catch(() => [] as string[])) if (RevisionId.safeParse(d).success) known.add(d);

    const result: GcResult = { kept: [], removedRevisions: [], removedBlobs: [], freedBytes: 0 };
    const referenced = new Set<string>();
    for (const rev of [...known].sort()) {
      if (!keep.has(rev)) {
        result.removedRevisions.push(rev);
        continue;
      }
      result.kept.push(rev);
      const text = await fs.readFile(manifestPath(l, rev), 'utf8').catch(() => null);
      // A kept revision without a readable manifest pins nothing: its snapshot dir's hard links
      // still hold the bytes, and a re-sync will rebuild it.
      if (text === null) continue;
      const m = await parseManifest(text, manifestPath(l, rev)).catch(() => null);
      for (const f of m?.files ?? []) referenced.add(f.sha256);
    }

    if (!o.dryRun) {
      for (const rev of result.removedRevisions) {
        // Manifest first: a snapshot dir without a manifest is "incomplete", never "current-ready".
        await fs.rm(manifestPath(l, rev), { force: true });
        await fs.rm(snapshotPath(l, rev), { recursive: true, force: true });
      }
      for (const d of await fs.readdir(l.snapshots).catch(() => [] as string[])) {
        if (d.startsWith('.tmp-')) await fs.rm(path.join(l.snapshots, d), { recursive: true, force: true });
      }
    }
    for (const b of await fs.readdir(l.blobs).catch(() => [] as string[])) {
      if (referenced.has(b)) continue;
      const st = await fs.stat(path.join(l.blobs, b)).catch(() => null);
      result.removedBlobs.push(b);
      result.freedBytes += st?.size ?? 0;
      if (!o.dryRun) await fs.rm(path.join(l.blobs, b), { force: true });
    }
    if (o.purgePartial) {
      for (const f of await fs.readdir(l.tmp).catch(() => [] as string[])) {
        const st = await fs.stat(path.join(l.tmp, f)).catch(() => null);
        if (f.endsWith('.part')) result.freedBytes += st?.size ?? 0;
        if (!o.dryRun) await fs.rm(path.join(l.tmp, f), { force: true });
      }
    }
    return result;
  });
}

/** Revisions present in a store, with which one is current. */
export async function listLocal(storeDir: string): Promise<{ current: string | null; revisions: string[] }> {
  const l = storeLayout(storeDir);
  const current = await readCurrent(l).catch(() => null);
  const revisions = (await fs.readdir(l.manifests).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
  return { current, revisions };
}
