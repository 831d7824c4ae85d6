/**
 * Part planning and the part map that makes a download resumable after a crash (pure; the file
 * it lives in is read and written by adapters/node/weights/part-map-file.ts). The map records
 * which parts of a temp file are complete, for one exact object version (ETag) and part size;
 * any mismatch on resume means "start this file over".
 */
import { z } from 'zod';

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

/** The part map in `text` if it parses and matches this object version and part size, else null. */
export function parsePartMap(text: string, expect: Omit<PartMap, 'done'>): PartMap | null {
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
