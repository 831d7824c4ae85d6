/**
 * A small file system that a test can fill up and free again: a tmpfs of a few MiB mounted on a
 * temp dir (needs root, or CAP_SYS_ADMIN; `available: false` otherwise, so a test can say why it
 * did not run). `fill()` writes a filler file until the disk answers ENOSPC; `free()` deletes it.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  available: boolean;
  /** Why it is not available (the mount's error). */
  reason?: string;
  /** Fill the disk to the last byte; returns the filler's size. */
  fill(): number;
  free(): void;
  dispose(): void;
}

export function mountSmallDisk(sizeMiB: number): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'motif-small-disk-'));
  const filler = join(dir, 'filler');
  let available = true;
  let reason: string | undefined;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    available = false;
    reason = ((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim();
  }
  return {
    dir,
    available,
    ...(reason ? { reason } : {}),
    fill() {
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(64 * 1024, 0x5a);
      let written = 0;
      try {
        // Shrinking chunks fill the last partial block too.
        for (let size = chunk.length; size >= 1; ) {
          try {
            written += writeSync(fd, chunk, 0, size);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
            size = Math.floor(size / 2);
          }
        }
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free() {
      rmSync(filler, { force: true });
    },
    dispose() {
      if (available) {
        try {
          execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
