/**
 * Local file helpers for publish and sync (Node I/O): walking a model directory, streaming
 * sha256, and reading a safetensors header off disk for validation.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '#shared/errors.ts';
import { headerLength, validateHeader, type SafetensorsHeader } from './safetensors.ts';

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
  const h = createHash('sha256');
  for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return h.digest('hex');
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
