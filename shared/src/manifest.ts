/**
 * The content-addressed weights manifest (DESIGN §6) and the S3 layout it lives in.
 * A revision id is derived from the file list (paths, sizes, hashes), so identical content always
 * gets the same id and a revision is immutable.
 *
 * `parts` (optional, beyond DESIGN's minimal entry) lists the sha256 of each fixed-size part of a
 * file. A downloader can then verify every ranged GET as it lands, in any order, instead of
 * hashing the whole file in order behind the download. The part hashes are bound into the
 * revision id like the file hash, so a manifest cannot be edited in place without changing its id.
 * With `parts.leaf`, a part's hash is the sha256 of its leaves' sha256s concatenated (each leaf
 * `leaf` bytes, the last one shorter; 32-byte binary digests), the shape of S3's composite
 * checksums: leaves are independent messages, so a verifier hashes several abreast, where one
 * sha256 stream per part is bound by the hash's round latency.
 * Entries without `parts` (any DESIGN-conformant publisher) are verified by the whole-file sha256.
 */
import { z } from 'zod';
import { sha256Hex } from './signing.ts';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const FileParts = z
  .object({
    /** Bytes per part (the last part is shorter). */
    size: z.number().int().min(4096),
    /** Bytes per leaf: each part hash is then the sha256 of its leaves' sha256s. Absent: sha256 of the part. */
    leaf: z.number().int().min(4096).optional(),
    sha256: z.array(Sha256),
  })
  .refine((p) => p.leaf === undefined || (p.leaf <= p.size && p.size % p.leaf === 0), {
    message: 'parts.leaf must divide parts.size',
    path: ['leaf'],
  });
export type FileParts = z.infer<typeof FileParts>;

export const ManifestFile = z
  .object({
    path: z
      .string()
      .min(1)
      .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'path must be relative without ..'),
    size: z.number().int().min(0),
    sha256: Sha256,
    etag: z.string().optional(),
    parts: FileParts.optional(),
  })
  .refine((f) => f.parts === undefined || f.parts.sha256.length === partCount(f.size, f.parts.size), {
    message: 'parts.sha256 must hold one hash per part (ceil(size / parts.size))',
    path: ['parts'],
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

/** Parts of `partSize` bytes in a `size`-byte file (0 for an empty file). */
export function partCount(size: number, partSize: number): number {
  return Math.ceil(size / partSize);
}

/**
 * Revision id = first 16 hex of sha256 over the sorted "path\tsize\tsha256" lines; a file with
 * part hashes adds "\t<part size>\t<hash>,<hash>,…" to its line ("<part size>/<leaf size>" with leaves).
 */
export async function revisionId(files: readonly Pick<ManifestFile, 'path' | 'size' | 'sha256' | 'parts'>[]): Promise<string> {
  const lines = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.path}\t${f.size}\t${f.sha256}${f.parts ? `\t${f.parts.size}${f.parts.leaf ? `/${f.parts.leaf}` : ''}\t${f.parts.sha256.join(',')}` : ''}`);
  return (await sha256Hex(lines.join('\n'))).slice(0, 16);
}

export const s3Keys = {
  revisionPrefix: (model: string, rev: string) => `models/${model}/revisions/${rev}/`,
  manifest: (model: string, rev: string) => `models/${model}/revisions/${rev}/manifest.json`,
  file: (model: string, rev: string, path: string) => `models/${model}/revisions/${rev}/${path}`,
  ref: (model: string, channel: string) => `models/${model}/refs/${channel}`,
};
