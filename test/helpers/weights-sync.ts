/**
 * Weights sync as a separate process, for tests that kill it: the `weights sync` CLI as a child
 * on a given S3 endpoint, how many bytes its store has recorded as on disk (what a resumed run
 * keeps), and random safetensors files to publish.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/stack/processes.ts';

/** A valid single-tensor safetensors file with `dataLen` random bytes. */
export function safetensorsFile(dataLen: number): Buffer {
  let json = JSON.stringify({ w: { dtype: 'U8', shape: [dataLen], data_offsets: [0, dataLen] } });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([head, Buffer.from(json), randomBytes(dataLen)]);
}

export interface SyncRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

/** `weights sync --json` of `model@ref` into `store`, as a child process. */
export function syncChild(o: { store: string; model: string; ref: string; partSizeMiB: number; concurrency: number; env: NodeJS.ProcessEnv }): SyncRun {
  const args = ['--import', 'tsx', 'origin/src/cli/weights.ts', 'sync', '--model', o.model, '--ref', o.ref, '--store', o.store];
  args.push('--part-size-mib', String(o.partSizeMiB), '--concurrency', String(o.concurrency), '--json');
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** Bytes the store has recorded as on disk: finished blobs + parts listed in part maps. */
export async function recordedBytes(store: string): Promise<number> {
  let n = 0;
  const blobs = await fs.readdir(path.join(store, 'blobs')).catch(() => [] as string[]);
  for (const f of blobs) n += (await fs.stat(path.join(store, 'blobs', f)).catch(() => null))?.size ?? 0;
  for (const f of await fs.readdir(path.join(store, 'tmp')).catch(() => [] as string[])) {
    if (!f.endsWith('.map.json')) continue;
    // A file's map outlives its move into blobs/ by a moment (a kill can land in it): the blob
    // already counts those bytes.
    if (blobs.includes(f.slice(0, -'.map.json'.length))) continue;
    const m = JSON.parse(await fs.readFile(path.join(store, 'tmp', f), 'utf8').catch(() => '{"done":[],"size":0}')) as {
      done: number[];
      size: number;
      partSize: number;
    };
    for (const i of m.done) n += Math.min(m.partSize, m.size - i * m.partSize);
  }
  return n;
}
