/**
 * Reading and moving the remote pointers of DESIGN §6: `models/<model>/refs/<channel>` holds a
 * revision id, `models/<model>/revisions/<rev>/manifest.json` the verified file list. Every value
 * read from the bucket is validated before it is used in a key.
 */
import { ApiError } from '#shared/errors.ts';
import { s3Keys, type Manifest } from '#shared/manifest.ts';
import { parseManifest } from './manifest-check.ts';
import { ModelId, RefName, RevisionId } from './names.ts';
import { objectUrl, type ObjectStore } from './object-store.ts';

export interface RemoteModel {
  s3: ObjectStore;
  bucket: string;
  model: string;
  signal?: AbortSignal;
}

/** The revision id a ref (channel) points to; ApiError `not_found` naming the key if unset. */
export async function resolveRef(o: RemoteModel & { ref: string }): Promise<string> {
  checkName(ModelId, o.model, 'model');
  checkName(RefName, o.ref, 'ref');
  const key = s3Keys.ref(o.model, o.ref);
  const text = await o.s3.getText(o.bucket, key, o.signal);
  if (text === null) throw new ApiError('not_found', `No ref '${o.ref}' for model '${o.model}': ${objectUrl(o.s3, o.bucket, key)} does not exist`);
  const rev = RevisionId.safeParse(text.trim());
  if (!rev.success) throw new ApiError('unprocessable_entity', `Ref ${objectUrl(o.s3, o.bucket, key)} does not hold a revision id (got ${JSON.stringify(text.slice(0, 40))})`);
  return rev.data;
}

/** The verified manifest of a revision (schema, model, revision id = hash of its file list). */
export async function fetchManifest(o: RemoteModel & { revision: string }): Promise<Manifest> {
  checkName(ModelId, o.model, 'model');
  checkName(RevisionId, o.revision, 'revision');
  const key = s3Keys.manifest(o.model, o.revision);
  const where = objectUrl(o.s3, o.bucket, key);
  const text = await o.s3.getText(o.bucket, key, o.signal);
  if (text === null) throw new ApiError('not_found', `No manifest for ${o.model}@${o.revision}: ${where} does not exist`);
  return parseManifest(text, where, { model: o.model, revision: o.revision });
}

/** Point a ref at a revision. Callers write it last, after the manifest and every file. */
export async function writeRef(o: RemoteModel & { ref: string; revision: string }): Promise<void> {
  checkName(RefName, o.ref, 'ref');
  checkName(RevisionId, o.revision, 'revision');
  await o.s3.putText(o.bucket, s3Keys.ref(o.model, o.ref), `${o.revision}\n`);
}

export interface RemoteListing {
  model: string;
  refs: Record<string, string>;
  revisions: string[];
}

/** What a bucket holds for one model (or every model when `model` is omitted): refs and revisions. */
export async function listRemote(o: Omit<RemoteModel, 'model'> & { model?: string }): Promise<RemoteListing[]> {
  const models = o.model !== undefined ? [o.model] : await listModels(o.s3, o.bucket);
  const out: RemoteListing[] = [];
  for (const model of models) {
    const refsList = await o.s3.list(o.bucket, `models/${model}/refs/`);
    const refs: Record<string, string> = {};
    for (const { key } of refsList.keys) {
      const ref = key.slice(`models/${model}/refs/`.length);
      if (!RefName.safeParse(ref).success) continue;
      refs[ref] = await resolveRef({ ...o, model, ref }).catch((e: Error) => `(${e.message})`);
    }
    const revs = await o.s3.list(o.bucket, `models/${model}/revisions/`, '/');
    const revisions = revs.prefixes.map((p) => p.slice(`models/${model}/revisions/`.length).replace(/\/$/, ''));
    out.push({ model, refs, revisions });
  }
  return out;
}

async function listModels(s3: ObjectStore, bucket: string): Promise<string[]> {
  // Model ids may hold one slash (Org/Name): a prefix is a model when it has refs/ or revisions/.
  const top = await s3.list(bucket, 'models/', '/');
  const models: string[] = [];
  for (const p of top.prefixes) {
    const name = p.slice('models/'.length, -1);
    const inner = await s3.list(bucket, p, '/');
    if (inner.prefixes.some((q) => q.endsWith('/refs/') || q.endsWith('/revisions/'))) models.push(name);
    else for (const q of inner.prefixes) models.push(`${name}/${q.slice(p.length, -1)}`);
  }
  return models;
}

function checkName(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } }, value: string, what: string): void {
  const r = schema.safeParse(value);
  if (!r.success) throw new ApiError('invalid_request_error', `Invalid ${what} '${value}': ${r.error?.issues[0]?.message ?? 'invalid'}`, { param: what });
}
