/**
 * Reading and moving the remote pointers of DESIGN §6: `models/<model>/refs/<channel>` holds a
 * revision id, `models/<model>/revisions/<rev>/manifest.json` the verified file list. Every value
 * read from the bucket is validated before it is used in a key.
 */
import { ApiError } from '#shared/errors.ts';
import { type Manifest, s3Keys } from '#shared/manifest.ts';
import { parseManifest } from './manifest-check.ts';
import { ModelId, RefName, RevisionId } from './names.ts';
import { type ObjectStore, objectUrl } from './object-store.ts';

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
  if (!rev.success)
    throw new ApiError('unprocessable_entity', `Ref ${objectUrl(o.s3, o.bucket, key)} does not hold a revision id (got ${JSON.stringify(text.slice(0, 40))})`);
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

function checkName(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } }, value: string, what: string): void {
  const r = schema.safeParse(value);
  if (!r.success) throw new ApiError('invalid_request_error', `Invalid ${what} '${value}': ${r.error?.issues[0]?.message ?? 'invalid'}`, { param: what });
}
