/**
 * `weights ls`: what the bucket holds (models, refs, revisions) and what the local store holds.
 * The bucket is read as one flat listing under `models/`, not by `/`-delimited prefixes: s3rver
 * (the embedded S3) answers a delimited listing only with prefixes that hold an object directly,
 * so `models/` came back empty and nothing was listed. One flat listing works on every S3 and
 * a weights bucket holds few objects per revision.
 */
import fs from 'node:fs/promises';
import { listLocal } from '../adapters/node/weights/gc.ts';
import { manifestPath, storeLayout } from '../adapters/node/weights/store.ts';
import { parseManifest } from '../weights/manifest-check.ts';
import { ModelId, RefName, RevisionId } from '../weights/names.ts';
import type { ObjectStore } from '../weights/object-store.ts';
import { resolveRef } from '../weights/refs.ts';

export interface BucketModel {
  model: string;
  /** ref → revision (or the reason it could not be read, in parentheses). */
  refs: Record<string, string>;
  /** Published revisions (those with a manifest) and their bytes in the bucket. */
  revisions: { revision: string; bytes: number }[];
}

interface Grouped {
  refs: Set<string>;
  revisions: Map<string, { bytes: number; manifest: boolean }>;
}

/**
 * Group object keys into models. A model id has at most one `/` (Org/Name), so the segment after
 * `models/<a>/` or `models/<a>/<b>/` that reads `refs` or `revisions` tells where the id ends.
 */
export function groupModelKeys(objects: { key: string; size: number }[]): Map<string, Grouped> {
  const out = new Map<string, Grouped>();
  for (const { key, size } of objects) {
    const parts = key.split('/');
    if (parts[0] !== 'models') continue;
    for (const idLen of [1, 2]) {
      const model = parts.slice(1, 1 + idLen).join('/');
      const kind = parts[1 + idLen];
      const rest = parts.slice(2 + idLen);
      if (!ModelId.safeParse(model).success) continue;
      if (kind === 'refs' && rest.length === 1 && RefName.safeParse(rest[0]).success) {
        group(out, model).refs.add(rest[0]!);
        break;
      }
      if (kind === 'revisions' && rest.length >= 2 && RevisionId.safeParse(rest[0]).success) {
        const revs = group(out, model).revisions;
        const r = revs.get(rest[0]!) ?? { bytes: 0, manifest: false };
        if (rest.length === 2 && rest[1] === 'manifest.json') r.manifest = true;
        else r.bytes += size;
        revs.set(rest[0]!, r);
        break;
      }
    }
  }
  return out;
}

function group(m: Map<string, Grouped>, model: string): Grouped {
  let g = m.get(model);
  if (!g) m.set(model, (g = { refs: new Set(), revisions: new Map() }));
  return g;
}

/** Models in the bucket (or just `model`), sorted, with refs resolved. */
export async function listBucket(s3: ObjectStore, bucket: string, model?: string): Promise<BucketModel[]> {
  const { keys } = await s3.list(bucket, model === undefined ? 'models/' : `models/${model}/`);
  const grouped = groupModelKeys(keys);
  const out: BucketModel[] = [];
  for (const [id, g] of [...grouped].sort(([a], [b]) => a.localeCompare(b))) {
    if (model !== undefined && id !== model) continue;
    const refs: Record<string, string> = {};
    for (const ref of [...g.refs].sort()) refs[ref] = await resolveRef({ s3, bucket, model: id, ref }).catch((e: Error) => `(${e.message})`);
    const revisions = [...g.revisions]
      .filter(([, r]) => r.manifest)
      .map(([revision, r]) => ({ revision, bytes: r.bytes }))
      .sort((a, b) => a.revision.localeCompare(b.revision));
    out.push({ model: id, refs, revisions });
  }
  return out;
}

export interface StoreRevision {
  revision: string;
  model: string;
  bytes: number;
  current: boolean;
}

/** Revisions in a local store with the model each manifest names (all, or those of `model`). */
export async function listStore(storeDir: string, model?: string): Promise<StoreRevision[]> {
  const l = storeLayout(storeDir);
  const { current, revisions } = await listLocal(storeDir);
  const out: StoreRevision[] = [];
  for (const revision of revisions) {
    const file = manifestPath(l, revision);
    const m = await fs
      .readFile(file, 'utf8')
      .then((t) => parseManifest(t, file, { revision }))
      .catch(() => null);
    const entry = { revision, model: m?.model ?? '(unreadable manifest)', bytes: m?.files.reduce((a, f) => a + f.size, 0) ?? 0, current: revision === current };
    if (model === undefined || entry.model === model) out.push(entry);
  }
  return out;
}

/** The model a stored revision belongs to (from its manifest), or null when the store lacks it. */
export async function storedRevisionModel(storeDir: string, revision: string): Promise<string | null> {
  const file = manifestPath(storeLayout(storeDir), revision);
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  return text === null ? null : (await parseManifest(text, file, { revision })).model;
}
