/**
 * Publish a local HF-style model directory as a revision (Node I/O; DESIGN §6): hash every file
 * (and each of its parts, so a sync can verify parts as they land) and refuse malformed
 * safetensors, then hand the hashed files to weights/publish-revision.ts, which uploads what the
 * bucket lacks, writes the manifest and moves the ref last.
 */
import { createReadStream } from 'node:fs';
import { fromZodError } from '#shared/errors.ts';
import { revisionId } from '#shared/manifest.ts';
import { mapLimit } from '../../../weights/concurrency-limit.ts';
import { type PublishInput, PublishOptions, type PublishResult, uploadRevision } from '../../../weights/publish-revision.ts';
import { checkSafetensorsFile, hashFile, isSafetensors, type LocalFile, walkModelDir } from './local-files.ts';

/** The publish's options, progress and result live in weights/publish-revision.ts (pure); re-exported so a caller needs one import. */
export type { PublishInput, PublishProgress, PublishResult } from '../../../weights/publish-revision.ts';

/** Publish `fromDir` as a revision of `model` and (optionally) point `ref` at it. */
export async function publishModel(input: PublishInput): Promise<PublishResult> {
  const parsed = PublishOptions.safeParse(input);
  if (!parsed.success) throw fromZodError(parsed.error);
  const o = parsed.data;
  const files = await walkModelDir(o.fromDir);
  const total = files.reduce((a, f) => a + f.size, 0);

  let hashed = 0;
  const hashes = await mapLimit(files, 2, async (f) => {
    if (isSafetensors(f.path)) await checkSafetensorsFile(f.abs, f.path);
    const parts =
      o.hashPartSize === null ? null : { size: o.hashPartSize, ...(o.hashLeafSize !== null ? { leaf: Math.min(o.hashLeafSize, o.hashPartSize) } : {}) };
    return hashFile(f.abs, parts, (n) => {
      hashed += n;
      input.onProgress?.({ phase: 'hash', file: f.path, bytesDone: hashed, bytesTotal: total });
    });
  });
  const entries = files.map((f, i) => ({ path: f.path, size: f.size, ...hashes[i]! }));
  const revision = await revisionId(entries);

  return uploadRevision(input, o, revision, entries, total, (i, onBytes) => counted(files[i]!, onBytes));
}

async function* counted(f: LocalFile, onBytes: (n: number) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of createReadStream(f.abs, { highWaterMark: 1 << 20 })) {
    onBytes((chunk as Buffer).length);
    yield chunk as Buffer;
  }
}
