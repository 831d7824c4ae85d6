/**
 * Manifest verification (pure): a manifest read from S3 or a bundle is trusted only after its
 * schema parses, it names a valid model id (the expected one, when known) and the expected
 * revision, its revision id is the content hash of its file list, and its paths are unique and do
 * not nest inside each other. The model is not part of the revision id, so a bundle's `model` can
 * be edited freely: it must pass `ModelId` before anything builds a path or key from it.
 */
import { ApiError, fromZodError } from '#shared/errors.ts';
import { Manifest, revisionId } from '#shared/manifest.ts';
import { ModelId } from './names.ts';

export interface ManifestExpectation {
  model?: string;
  revision?: string;
}

/** Parse manifest JSON text and verify it; `where` names its origin in error messages. */
export async function parseManifest(text: string, where: string, expect: ManifestExpectation = {}): Promise<Manifest> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError('unprocessable_entity', `Manifest ${where} is not valid JSON`);
  }
  const r = Manifest.safeParse(json);
  if (!r.success) {
    const e = fromZodError(r.error, 'unprocessable_entity');
    throw new ApiError('unprocessable_entity', `Manifest ${where} is invalid: ${e.message}`);
  }
  await verifyManifest(r.data, where, expect);
  return r.data;
}

/** Check the invariants a parsed manifest must hold (see module comment). */
export async function verifyManifest(m: Manifest, where: string, expect: ManifestExpectation = {}): Promise<void> {
  const model = ModelId.safeParse(m.model);
  if (!model.success) {
    throw new ApiError(
      'unprocessable_entity',
      `Manifest ${where} names model ${JSON.stringify(m.model)}: ${model.error.issues[0]?.message ?? 'not a model id'}`,
    );
  }
  if (expect.model !== undefined && m.model !== expect.model) {
    throw new ApiError('unprocessable_entity', `Manifest ${where} is for model '${m.model}', expected '${expect.model}'`);
  }
  if (expect.revision !== undefined && m.revision !== expect.revision) {
    throw new ApiError('unprocessable_entity', `Manifest ${where} has revision '${m.revision}', expected '${expect.revision}'`);
  }
  const computed = await revisionId(m.files);
  if (computed !== m.revision) {
    throw new ApiError('unprocessable_entity', `Manifest ${where} claims revision '${m.revision}' but its file list hashes to '${computed}'`);
  }
  const paths = new Set<string>();
  for (const f of m.files) {
    if (paths.has(f.path)) throw new ApiError('unprocessable_entity', `Manifest ${where} lists '${f.path}' twice`);
    if (f.path.split('/').some((seg) => seg === '' || seg === '.')) {
      throw new ApiError('unprocessable_entity', `Manifest ${where} has a non-canonical path '${f.path}'`);
    }
    paths.add(f.path);
  }
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (paths.has(dir)) throw new ApiError('unprocessable_entity', `Manifest ${where} has '${dir}' as both a file and a directory`);
    }
  }
}
