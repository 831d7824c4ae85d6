/**
 * The content-addressed weights manifest (DESIGN §6) and the S3 layout it lives in.
 * A revision id is derived from the file list (paths, sizes, hashes), so identical content always
 * gets the same id and a revision is immutable.
 */
import { z } from 'zod';
import { sha256Hex } from './signing.ts';

export const ManifestFile = z.object({
  path: z.string().min(1).refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'path must be relative without ..'),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  etag: z.string().optional(),
});
export type ManifestFile = z.infer<typeof ManifestFile>;

export const Manifest = z.object({
  schema: z.literal(1),
  model: z.string().min(1),
  revision: z.string().min(1),
  created_at: z.string(),
  files: z.array(ManifestFile).min(1),
});
export type Manifest = z.infer<typeof Manifest>;

/** Revision id = first 16 hex of sha256 over the sorted "path\tsize\tsha256" lines. */
export async function revisionId(files: readonly Pick<ManifestFile, 'path' | 'size' | 'sha256'>[]): Promise<string> {
  const lines = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => `${f.path}\t${f.size}\t${f.sha256}`);
  return (await sha256Hex(lines.join('\n'))).slice(0, 16);
}

export const s3Keys = {
  revisionPrefix: (model: string, rev: string) => `models/${model}/revisions/${rev}/`,
  manifest: (model: string, rev: string) => `models/${model}/revisions/${rev}/manifest.json`,
  file: (model: string, rev: string, path: string) => `models/${model}/revisions/${rev}/${path}`,
  ref: (model: string, channel: string) => `models/${model}/refs/${channel}`,
};
