/**
 * The Node file-system adapter of `CheckpointSource`: a local HF-style model directory
 * (e.g. an activated weights snapshot). Large files are read with positional reads straight into
 * the caller's typed arrays, in chunks below the 2 GiB limit of a single read.
 */
import { open, readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { CheckpointSource, OpenedFile } from '../../../engine/native/checkpoint/checkpoint-source.ts';

// One read call moves at most this many bytes (the OS and libuv cap single reads near 2 GiB).
const MAX_READ_BYTES = 1 << 30;

/** A CheckpointSource over the directory `dir`; paths that escape it are refused. */
export function nodeCheckpoint(dir: string): CheckpointSource {
  const root = resolve(dir);
  const inside = (path: string): string => {
    const full = resolve(root, path);
    if (!full.startsWith(root + sep)) throw new Error(`path '${path}' escapes the checkpoint directory`);
    return full;
  };
  return {
    async readText(path) {
      try {
        return await readFile(inside(path), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async open(path): Promise<OpenedFile> {
      const handle = await open(inside(path), 'r');
      const { size } = await handle.stat();
      return {
        name: path,
        size,
        async read(dst, position) {
          let done = 0;
          while (done < dst.length) {
            const len = Math.min(dst.length - done, MAX_READ_BYTES);
            const { bytesRead } = await handle.read(dst, done, len, position + done);
            if (bytesRead === 0) throw new Error(`${path}: unexpected end of file at byte ${position + done}`);
            done += bytesRead;
          }
        },
        close: () => handle.close(),
      };
    },
  };
}
