/**
 * The measuring pieces of `npm run bench:weights` (run.ts): the embedded S3 in its own process,
 * core placement, CPU seconds from /proc, one timed transfer and the sha256 floor.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import { nativeSha256Batch } from '../../origin/src/adapters/node/weights/leaf-hash.ts';
import type { Layout, Sample } from './report.ts';

export const MiB = 1024 * 1024;
export const log = (s: string) => process.stderr.write(`${s}\n`);

/** The embedded S3 in a child process (the weights CLI's `s3` command). */
export async function startServer(root: string, dir: string, bucket: string): Promise<{ endpoint: string; pid: number; stop: () => void }> {
  const args = ['--import', 'tsx', 'origin/src/cli/weights.ts', 's3', '--port', '0', '--s3-dir', dir, '--bucket', bucket];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /embedded S3 at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`s3 server exited (${code})`)));
  });
  return { endpoint, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

/**
 * Pinned: the server's threads on core 0, this process's (and so every client's it starts) on
 * core 1 — the view of an S3 endpoint on another host. Shared: everything on every core.
 */
export function place(layout: Layout, serverPid: number): void {
  const all = `0-${os.cpus().length - 1}`;
  for (const [pid, cpus] of [
    [serverPid, layout === 'pinned' ? '0' : all],
    [process.pid, layout === 'pinned' ? '1' : all],
  ] as const) {
    if (spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' }).status !== 0) {
      throw new Error(`the ${layout} layout needs taskset (util-linux)${layout === 'pinned' ? ' and 2 cores' : ''}`);
    }
  }
}

export const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/** CPU seconds of a process (user + system; with `children`, plus its waited-for children's). */
export function cpuSeconds(pid: number | 'self', children = false): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN; // not Linux: the CPU columns print n/a
  }
}

/** Deleting what the last transfer wrote, done before the next one's clock starts (not timed). */
let cleanup: (() => Promise<void>) | null = null;
export const removeLater = (dir: string) => {
  cleanup = () => fs.rm(dir, { recursive: true, force: true });
};

/** One timed transfer (or null when the tool is absent), after flushing earlier dirty pages. */
export async function timed(label: string, serverPid: number, fn: () => Promise<number | null>): Promise<Sample | null> {
  await cleanup?.();
  cleanup = null;
  spawnSync('sync');
  const c0 = cpuSeconds('self', true);
  const s0 = cpuSeconds(serverPid);
  const t0 = performance.now();
  const bytes = await fn();
  if (bytes === null) return null;
  const mib = bytes / MiB;
  const sample = {
    rate: mib / ((performance.now() - t0) / 1000),
    clientMs: (1000 * (cpuSeconds('self', true) - c0)) / mib,
    serverMs: (1000 * (cpuSeconds(serverPid) - s0)) / mib,
  };
  log(`  ${label}: ${sample.rate.toFixed(0)} MiB/s (CPU ms/MiB: client ${sample.clientMs.toFixed(2)}, server ${sample.serverMs.toFixed(2)})`);
  return sample;
}

/**
 * CPU milliseconds per MiB of sha256 on one core, the floor of any verifying client: one stream
 * (node:crypto), and 256 KiB leaves four abreast (the native batch, when built; null otherwise).
 */
export function sha256MsPerMiB(): { stream: number; leaves: number | null } {
  const buf = Buffer.alloc(64 * MiB, 7);
  const h = createHash('sha256');
  let t0 = performance.now();
  for (let i = 0; i < 4; i++) h.update(buf);
  h.digest();
  const stream = (performance.now() - t0) / 256;
  const batch = nativeSha256Batch();
  if (!batch) return { stream, leaves: null };
  const out = new Uint8Array(32 * 4);
  t0 = performance.now();
  const leaf = 256 * 1024;
  for (let i = 0; i < (64 * MiB) / leaf; i += 4)
    batch(
      [0, 1, 2, 3].map((k) => buf.subarray((i + k) * leaf, (i + k + 1) * leaf)),
      out,
    );
  return { stream, leaves: (performance.now() - t0) / 64 };
}
