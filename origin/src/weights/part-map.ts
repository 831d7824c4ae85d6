/**
 * Part planning and the persisted part map that makes a download resumable after a crash.
 * The map records which parts of a temp file are complete, for one exact object version (ETag)
 * and part size; any mismatch on resume means "start this file over".
 */
import fs from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from './store.ts';

export interface Part {
  index: number;
  start: number;
  /** Inclusive. */
  end: number;
}

/** Split `size` bytes into parts of `partSize` (the last one shorter); a 0-byte file has none. */
export function planParts(size: number, partSize: number): Part[] {
  const parts: Part[] = [];
  for (let i = 0, start = 0; start < size; i++, start += partSize) {
    parts.push({ index: i, start, end: Math.min(size, start + partSize) - 1 });
  }
  return parts;
}

export const PartMap = z.object({
  sha256: z.string(),
  size: z.number().int().min(0),
  partSize: z.number().int().min(1),
  etag: z.string(),
  done: z.array(z.number().int().min(0)),
});
export type PartMap = z.infer<typeof PartMap>;

/** Load a part map if it exists and matches this object version and part size, else null. */
export async function loadPartMap(file: string, expect: Omit<PartMap, 'done'>): Promise<PartMap | null> {
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const r = PartMap.safeParse(parsed);
  if (!r.success) return null;
  const m = r.data;
  const same = m.sha256 === expect.sha256 && m.size === expect.size && m.partSize === expect.partSize && m.etag === expect.etag;
  return same ? m : null;
}

/**
 * Persists a part map after completed parts, one write at a time. Requests that arrive while a
 * write is in flight coalesce into the next write, which always carries the latest `done` set.
 */
export function createPartMapWriter(file: string, base: Omit<PartMap, 'done'>, done: ReadonlySet<number>) {
  let chain: Promise<void> = Promise.resolve();
  let requested = 0;
  let written = 0;
  return {
    /** Resolves once a map containing every part done so far is on disk. */
    flush(): Promise<void> {
      const want = ++requested;
      const run = chain.then(async () => {
        if (written >= want) return;
        const covers = requested;
        await writeFileAtomic(file, JSON.stringify({ ...base, done: [...done].sort((a, b) => a - b) }));
        written = covers;
      });
      chain = run.catch(() => undefined);
      return run;
    },
    /** Resolves once no write is in flight (before the map is removed or its directory left). */
    idle(): Promise<void> {
      return chain;
    },
  };
}
