/**
 * Validation of the names that end up in S3 keys and local paths: model ids, ref (channel) names
 * and revision ids. Anything read from S3 or a CLI goes through these before it is used in a key
 * or a path, so a hostile ref object cannot point a sync outside its store.
 */
import { z } from 'zod';

/** `motif-2.6b` or `Org/Model-Name` (one optional slash, no `..`). */
export const ModelId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$/, 'model ids look like motif-2.6b or Org/Name')
  .refine((s) => !s.includes('..'), 'model ids must not contain ..');

/** A channel such as `stable` or `canary`. */
export const RefName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'ref names are letters, digits, . _ - (max 64)');

/** Revision ids are the 16-hex content hash of the manifest file list (shared/src/manifest.ts). */
export const RevisionId = z.string().regex(/^[0-9a-f]{16}$/, 'revision ids are 16 lower-case hex digits');
