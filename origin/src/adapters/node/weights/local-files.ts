/**
 * Local file helpers for publish and sync (Node I/O): walking a model directory, streaming
 * sha256 (whole file and per part), and reading a safetensors header off disk for validation.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '#shared/errors.ts';
import type { FileParts } from '#shared/manifest.ts';
import { headerLength, type SafetensorsHeader, validateHeader } from '../../../weights/safetensors.ts';
import { PartDigest } from './leaf-hash.ts';

export interface LocalFile {
  /** Relative, '/'-separated: the manifest path. */
  path: string;
  abs: string;
  size: number;
}

/**
 * Every regular file under `dir` (following symlinks, so an HF cache snapshot publishes as-is),
 * skipping dot-files and dot-directories (.git, .cache). Sorted by path.
 */
export async function walkModelDir(dir: string): Promise<LocalFile[]> {
  const root = path.resolve(dir);
  const st = await fs.stat(root).catch(() => null);
  if (!st?.isDirectory()) throw new ApiError('invalid_request_error', `Model directory ${root} does not exist or is not a directory`);
  const out: LocalFile[] = [];
  const stack = [''];
  // Bounded by the tree itself; symlinked directories are not followed (no cycles).
  while (stack.length > 0) {
    const rel = stack.pop()!;
    for (const ent of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      if (ent.name.startsWith('.')) continue;
      const relPath = rel ? `${rel}/${ent.name}` : ent.name;
      const abs = path.join(root, relPath);
      if (ent.isDirectory()) {
        stack.push(relPath);
      } else if (ent.isFile() || ent.isSymbolicLink()) {
        const s = await fs.stat(abs).catch(() => null);
        if (s?.isFile()) out.push({ path: relPath, abs, size: s.size });
      }
    }
  }
  if (out.length === 0) throw new ApiError('invalid_request_error', `Model directory ${root} holds no files`);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** sha256 (hex) of a file, streamed; `onBytes` sees each chunk's length (progress). */
export async function sha256File(abs: string, onBytes?: (n: number) => void): Promise<string> {
  return (await hashFile(abs, null, onBytes)).sha256;
}

/**
 * One read of a file for its sha256 and, with `parts`, the digest of each `parts.size`-byte part
 * in the manifest's scheme (plain sha256, or over `parts.leaf`-byte leaves: leaf-hash.ts). A chunk
 * that straddles a part boundary is split between the two part digests.
 */
export async function hashFile(
  abs: string,
  parts: { size: number; leaf?: number } | null,
  onBytes?: (n: number) => void,
): Promise<{ sha256: string; parts?: FileParts }> {
  const whole = createHash('sha256');
  const digests: string[] = [];
  const leaf = parts?.leaf ?? null;
  let part = new PartDigest(leaf);
  let inPart = 0;
  for await (const c of createReadStream(abs, { highWaterMark: 1 << 20 })) {
    const chunk = c as Buffer;
    whole.update(chunk);
    for (let off = 0; parts !== null && off < chunk.length; ) {
      const n = Math.min(chunk.length - off, parts.size - inPart);
      part.update(chunk.subarray(off, off + n));
      off += n;
      inPart += n;
      if (inPart === parts.size) {
        digests.push(part.digest());
        part = new PartDigest(leaf);
        inPart = 0;
      }
    }
    onBytes?.(chunk.length);
  }
  if (inPart > 0) digests.push(part.digest());
  if (parts === null) return { sha256: whole.digest('hex') };
  return { sha256: whole.digest('hex'), parts: { size: parts.size, ...(leaf !== null ? { leaf } : {}), sha256: digests } };
}

/** True for files the safetensors checks apply to. */
export function isSafetensors(p: string): boolean {
  return p.endsWith('.safetensors');
}

/** Read and validate the safetensors header of a file on disk; `name` labels errors. */
export async function checkSafetensorsFile(abs: string, name: string): Promise<SafetensorsHeader> {
  const fh = await fs.open(abs, 'r');
  try {
    const { size } = await fh.stat();
    const first = Buffer.alloc(8);
    await fh.read(first, 0, 8, 0);
    const n = headerLength(first, size, name);
    const json = Buffer.alloc(n);
    const { bytesRead } = await fh.read(json, 0, n, 8);
    if (bytesRead !== n) throw new ApiError('unprocessable_entity', `Malformed safetensors file ${name}: short read of the header`);
    return validateHeader(json, size, name);
  } finally {
    await fh.close();
  }
}
