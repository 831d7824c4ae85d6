/**
 * Where the local stack (`npm start`) keeps its weights, shared by the stack and the weights CLI so
 * both read the same environment the same way:
 *
 *   $MOTIF_DATA_DIR/s3/               the embedded S3's data (s3rver), default data dir `.data`
 *   $MOTIF_DATA_DIR/s3.server.json    written while a process serves that data: pid and endpoint
 *   $MOTIF_DATA_DIR/origin/weights/   the content store the stack's origin syncs into and serves
 *
 * The marker lets the CLI talk to a running stack's S3 instead of opening a second server over the
 * same files, and lets the stack refuse to start a second server over data that is already served.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { pidAlive } from '../adapters/node/weights/store-lock.ts';

export const DEFAULT_DATA_DIR = '.data';
export const DEFAULT_BUCKET = 'motif-weights';
export const DEFAULT_S3_PORT = 4690;

export interface LocalPaths {
  dataDir: string;
  /** The embedded S3's data dir. */
  s3Dir: string;
  /** The weights store: MOTIF_WEIGHTS_STORE, else the stack origin's. */
  store: string;
}

type Env = Record<string, string | undefined>;
const set = (v: string | undefined): v is string => v !== undefined && v !== '';

/** Absolute paths from the environment (relative ones against `cwd`, as the stack resolves them). */
export function localPaths(env: Env, cwd: string = process.cwd()): LocalPaths {
  const dataDir = path.resolve(cwd, set(env.MOTIF_DATA_DIR) ? env.MOTIF_DATA_DIR : DEFAULT_DATA_DIR);
  const fromEnv = env.MOTIF_WEIGHTS_STORE;
  return {
    dataDir,
    s3Dir: path.join(dataDir, 's3'),
    store: set(fromEnv) ? path.resolve(cwd, fromEnv) : path.join(dataDir, 'origin', 'weights'),
  };
}

/** The bucket the stack creates in its embedded S3 (MOTIF_S3_BUCKET, default motif-weights). */
export const bucketFromEnv = (env: Env): string => (set(env.MOTIF_S3_BUCKET) ? env.MOTIF_S3_BUCKET : DEFAULT_BUCKET);

/** The embedded S3's port (MOTIF_S3_PORT, default 4690). */
export function s3PortFromEnv(env: Env): number {
  const v = env.MOTIF_S3_PORT;
  if (!set(v)) return DEFAULT_S3_PORT;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new Error(`MOTIF_S3_PORT must be a port number (0-65535), got '${v}'`);
  return n;
}

const Marker = z.object({ pid: z.number().int().positive(), endpoint: z.url(), bucket: z.string(), dir: z.string() });
export type EmbeddedS3Marker = z.infer<typeof Marker>;

/** `<data>/s3` → `<data>/s3.server.json`: beside the data, not in it (s3rver reads every entry there as a bucket). */
export const markerPath = (s3Dir: string): string => `${path.resolve(s3Dir)}.server.json`;

/** Record that this process serves `s3Dir` at `endpoint`. */
export async function writeEmbeddedS3Marker(s3Dir: string, m: Omit<EmbeddedS3Marker, 'dir' | 'pid'>): Promise<void> {
  const file = markerPath(s3Dir);
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, `${JSON.stringify({ pid: process.pid, ...m, dir: path.resolve(s3Dir) })}\n`);
  await fs.rename(tmp, file);
}

/** Remove the marker if this process wrote it (a newer server's marker stays). */
export async function removeEmbeddedS3Marker(s3Dir: string): Promise<void> {
  const m = await readMarker(s3Dir);
  if (m?.pid === process.pid) await fs.rm(markerPath(s3Dir), { force: true });
}

/**
 * The server that serves `s3Dir` right now, or null: the marker must name a live process and the
 * same dir, and its endpoint must answer HTTP. A marker left by a crash (dead pid, closed port) is
 * ignored.
 */
export async function findRunningEmbeddedS3(s3Dir: string, o: { timeoutMs?: number } = {}): Promise<EmbeddedS3Marker | null> {
  const m = await readMarker(s3Dir);
  if (!m || m.dir !== path.resolve(s3Dir) || !pidAlive(m.pid)) return null;
  // Any HTTP answer will do (s3rver replies 403 to an unsigned GET); only a refused or silent port fails.
  const res = await fetch(m.endpoint, { signal: AbortSignal.timeout(o.timeoutMs ?? 2000) }).catch(() => null);
  if (!res) return null;
  await res.body?.cancel();
  return m;
}

async function readMarker(s3Dir: string): Promise<EmbeddedS3Marker | null> {
  const text = await fs.readFile(markerPath(s3Dir), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const r = Marker.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
