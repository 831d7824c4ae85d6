/**
 * Node adapter for the generator's `ByteSink`: a new file (never overwrites), written in order
 * and flushed to disk (`datasync`) on close, so a model dir that was renamed into place is complete
 * on disk too, not only in the page cache.
 */
import { open } from 'node:fs/promises';
import type { ByteSink } from './safetensors-writer.ts';

/** Create `path` (fails if it exists) and return a sink writing to it. */
export async function fileSink(path: string): Promise<ByteSink> {
  const fh = await open(path, 'wx');
  return {
    async write(bytes) {
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
    },
    async close() {
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    },
  };
}

/** Write a whole (small) text file through a `fileSink`. */
export async function writeTextFile(path: string, text: string): Promise<void> {
  const sink = await fileSink(path);
  try {
    await sink.write(new TextEncoder().encode(text));
  } finally {
    await sink.close();
  }
}
