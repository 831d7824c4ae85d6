/**
 * Offline bundles: a snapshot as one plain tar (`manifest.json`, then `files/<path>` for each
 * file) to carry weights to a node without S3 access. Import trusts nothing in the tar: the
 * manifest must verify (revision id = hash of its file list), every file must match its size and
 * sha256 (and safetensors header) before it becomes a blob, and only then is the snapshot built.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '#shared/errors.ts';
import type { Manifest } from '#shared/manifest.ts';
import { parseManifest } from '../../../weights/manifest-check.ts';
import { BLOCK, decodeHeader, END, fileHeader, padding, parsePax } from '../../../weights/tar.ts';
import { checkSafetensorsFile, isSafetensors } from './local-files.ts';
import { blobPath, buildSnapshot, ensureLayout, hasBlob, manifestPath, readCurrent, setCurrent, storeLayout } from './store.ts';
import { withStoreLock } from './store-lock.ts';

const MANIFEST_ENTRY = 'manifest.json';
const FILES_PREFIX = 'files/';

/** Write revision `revision` of the store at `storeDir` to `file` (temp file + rename). */
export async function exportBundle(o: { storeDir: string; revision: string; file: string }): Promise<{ revision: string; files: number; bytes: number }> {
  const l = storeLayout(o.storeDir);
  const mfile = manifestPath(l, o.revision);
  const text = await fs.readFile(mfile, 'utf8').catch(() => null);
  if (text === null) throw new ApiError('not_found', `Store ${l.root} has no revision ${o.revision} (${mfile} missing)`);
  const m = await parseManifest(text, mfile, { revision: o.revision });
  const tmp = `${o.file}.tmp-${randomBytes(4).toString('hex')}`;
  const out = await fs.open(tmp, 'w');
  const mtime = Math.floor(Date.parse(m.created_at) / 1000) || 0;
  let bytes = 0;
  try {
    const mbytes = Buffer.from(text);
    await out.write(fileHeader(MANIFEST_ENTRY, mbytes.length, mtime));
    await out.write(Buffer.concat([mbytes, Buffer.alloc(padding(mbytes.length))]));
    for (const f of m.files) {
      await out.write(fileHeader(FILES_PREFIX + f.path, f.size, mtime));
      let n = 0;
      for await (const chunk of createReadStream(blobPath(l, f.sha256), { highWaterMark: 4 << 20 })) {
        await out.write(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
      if (n !== f.size) throw new ApiError('unprocessable_entity', `Store blob for '${f.path}' is ${n} bytes, manifest says ${f.size}`);
      await out.write(Buffer.alloc(padding(n)));
      bytes += n;
    }
    await out.write(END);
    await out.sync();
    await out.close();
    await fs.rename(tmp, o.file);
  } catch (err) {
    await out.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return { revision: m.revision, files: m.files.length, bytes };
}

export interface ImportResult {
  model: string;
  revision: string;
  dir: string;
  activated: boolean;
}

/**
 * Import a bundle into a store (`storeDir` may depend on the model the manifest names) and,
 * unless `activate` is false, make it current. Refuses the whole bundle on any mismatch.
 */
export async function importBundle(o: { file: string; storeDir: string | ((model: string) => string); activate?: boolean }): Promise<ImportResult> {
  const r = createTarReader(o.file);
  const first = await r.next();
  if (!first || first.name !== MANIFEST_ENTRY) throw bad(o.file, `first entry must be ${MANIFEST_ENTRY}`);
  const m = await parseManifest((await r.readData(first.size)).toString('utf8'), `${o.file}:${MANIFEST_ENTRY}`);
  const l = storeLayout(typeof o.storeDir === 'string' ? o.storeDir : o.storeDir(m.model));
  await ensureLayout(l);
  return withStoreLock(l, async () => {
    const byPath = new Map(m.files.map((f) => [f.path, f]));
    const seen = new Set<string>();
    for (let e = await r.next(); e; e = await r.next()) {
      if (e.type !== '0') {
        await r.skip(e.size);
        continue;
      }
      const f = e.name.startsWith(FILES_PREFIX) ? byPath.get(e.name.slice(FILES_PREFIX.length)) : undefined;
      if (!f || seen.has(f.path)) throw bad(o.file, `unexpected entry '${e.name}'`);
      if (e.size !== f.size) throw bad(o.file, `'${f.path}' is ${e.size} bytes, the manifest says ${f.size}`);
      seen.add(f.path);
      if (await hasBlob(l, f.sha256, f.size)) {
        await r.skip(e.size);
        continue;
      }
      await importFile(r, l.tmp, blobPath(l, f.sha256), f, o.file);
    }
    const missing = m.files.filter((f) => !seen.has(f.path));
    if (missing.length > 0) throw bad(o.file, `missing ${missing.map((f) => `'${f.path}'`).join(', ')}`);
    const dir = await buildSnapshot(l, m);
    const before = await readCurrent(l).catch(() => null);
    const activate = o.activate !== false && before !== m.revision;
    if (activate) await setCurrent(l, m.revision);
    return { model: m.model, revision: m.revision, dir, activated: activate };
  }).finally(() => r.close());
}

async function importFile(r: TarReader, tmpDir: string, dest: string, f: Manifest['files'][number], file: string): Promise<void> {
  const tmp = path.join(tmpDir, `${f.sha256}.import-${randomBytes(4).toString('hex')}`);
  const out = await fs.open(tmp, 'w');
  const h = createHash('sha256');
  try {
    await r.stream(f.size, async (chunk) => {
      h.update(chunk);
      await out.write(chunk);
    });
    const actual = h.digest('hex');
    if (actual !== f.sha256) throw bad(file, `sha256 mismatch for '${f.path}': ${actual}, the manifest says ${f.sha256}`);
    if (isSafetensors(f.path)) await checkSafetensorsFile(tmp, `'${f.path}' in ${file}`);
    await out.sync();
    await out.close();
    await fs.rename(tmp, dest);
  } catch (err) {
    await out.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

function bad(file: string, why: string): ApiError {
  return new ApiError('unprocessable_entity', `Bundle ${file} refused: ${why}`);
}

interface TarReader {
  /** Next file-or-dir entry (pax headers folded in), or null at the end. */
  next(): Promise<{ name: string; size: number; type: string } | null>;
  readData(size: number): Promise<Buffer>;
  stream(size: number, onChunk: (b: Buffer) => Promise<void>): Promise<void>;
  skip(size: number): Promise<void>;
  close(): Promise<void>;
}

/** A forward-only tar reader over a file stream; entry data must be consumed before `next`. */
function createTarReader(file: string): TarReader {
  const src = createReadStream(file, { highWaterMark: 4 << 20 });
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buf: Buffer = Buffer.alloc(0);

  async function fill(n: number): Promise<void> {
    while (buf.length < n) {
      const { value, done } = await it.next();
      if (done) throw bad(file, 'truncated archive');
      buf = buf.length === 0 ? value : Buffer.concat([buf, value]);
    }
  }
  async function take(n: number): Promise<Buffer> {
    await fill(n);
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  }
  async function stream(size: number, onChunk: (b: Buffer) => Promise<void>): Promise<void> {
    let left = size;
    while (left > 0) {
      if (buf.length === 0) await fill(1);
      const n = Math.min(left, buf.length);
      await onChunk(buf.subarray(0, n));
      buf = buf.subarray(n);
      left -= n;
    }
    await take(padding(size));
  }
  return {
    async next() {
      let pax: Record<string, string> = {};
      // A pax header describes the entry after it; bounded by the archive (each step consumes it).
      for (;;) {
        let h;
        try {
          h = decodeHeader(await take(BLOCK));
        } catch (err) {
          if (err instanceof ApiError) throw err;
          throw bad(file, (err as Error).message);
        }
        if (h === null) return null;
        if (h.type === 'x' || h.type === 'g') {
          const body = await take(h.size);
          await take(padding(h.size));
          if (h.type === 'x') pax = parsePax(body);
          continue;
        }
        return { name: pax.path ?? h.name, size: pax.size !== undefined ? Number(pax.size) : h.size, type: h.type };
      }
    },
    async readData(size) {
      if (size > 64 << 20) throw bad(file, `manifest entry of ${size} bytes is too large`);
      const b = Buffer.from(await take(size));
      await take(padding(size));
      return b;
    },
    stream,
    skip: (size) => stream(size, async () => undefined),
    async close() {
      src.destroy();
    },
  };
}
