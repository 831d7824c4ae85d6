/**
 * Process-level coordination on one store (Node I/O): an exclusive lock file for writers (sync,
 * gc, import) and lease files by which a running engine keeps its revision from being gc'd.
 * Both record the owner's pid; a file whose pid is gone (a crash, kill -9) is stale and ignored.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '#shared/errors.ts';
import { RevisionId } from '../../../weights/names.ts';
import { type StoreLayout, storeLayout } from './store.ts';

/** True if a process with this pid exists (EPERM = exists but not ours). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Run `fn` holding the store's writer lock. Waits (polling) while another live process holds it,
 * up to `waitMs`; takes over a lock left by a dead process.
 */
export async function withStoreLock<T>(l: StoreLayout, fn: () => Promise<T>, o: { waitMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const token = `${process.pid} ${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + (o.waitMs ?? 30 * 60_000);
  for (;;) {
    o.signal?.throwIfAborted();
    const fh = await fs.open(l.lock, 'wx').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return null;
      throw err;
    });
    if (fh) {
      await fh.writeFile(token);
      await fh.close();
      break;
    }
    const holder = Number.parseInt((await fs.readFile(l.lock, 'utf8').catch(() => '')).split(' ')[0] ?? '', 10);
    if (!Number.isInteger(holder) || !pidAlive(holder)) {
      // Stale (or being written this instant): remove only if unchanged, then retry the create.
      await fs.rm(l.lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new ApiError('conflict', `Store ${l.root} is locked by process ${holder}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    return await fn();
  } finally {
    const still = await fs.readFile(l.lock, 'utf8').catch(() => '');
    if (still === token) await fs.rm(l.lock, { force: true });
  }
}

export interface Lease {
  revision: string;
  release(): Promise<void>;
}

/**
 * Mark `revision` as in use by `holder` (e.g. a replica id) until released or the process dies,
 * so gc keeps its snapshot and blobs while an engine serves from them.
 */
export async function acquireLease(storeDir: string, revision: string, holder: string): Promise<Lease> {
  RevisionId.parse(revision);
  const l = storeLayout(storeDir);
  const safe = holder.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'holder';
  const dir = path.join(l.leases, revision);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${safe}.json`);
  await fs.writeFile(file, JSON.stringify({ pid: process.pid, holder, since: new Date().toISOString() }));
  return { revision, release: () => fs.rm(file, { force: true }) };
}

/** Revisions with at least one lease whose process is alive (stale leases are removed). */
export async function leasedRevisions(l: StoreLayout): Promise<Set<string>> {
  const out = new Set<string>();
  for (const rev of await fs.readdir(l.leases).catch(() => [] as string[])) {
    const dir = path.join(l.leases, rev);
    for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
      const file = path.join(dir, f);
      const pid = leasePid(await fs.readFile(file, 'utf8').catch(() => ''));
      if (Number.isInteger(pid) && pidAlive(pid)) out.add(rev);
      else await fs.rm(file, { force: true });
    }
  }
  return out;
}

function leasePid(text: string): number {
  try {
    return Number((JSON.parse(text) as { pid?: unknown }).pid);
  } catch {
    return Number.NaN;
  }
}
