/**
 * The part map of a download on disk (Node I/O): loaded on resume, rewritten behind the download
 * as parts complete. What it holds and when it counts is weights/part-map.ts.
 */
import fs from 'node:fs/promises';
import { type PartMap, parsePartMap } from '../../../weights/part-map.ts';
import { writeFileAtomic } from './store.ts';

/** Load a part map if it exists and matches this object version and part size, else null. */
export async function loadPartMap(file: string, expect: Omit<PartMap, 'done'>): Promise<PartMap | null> {
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  return parsePartMap(text, expect);
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
