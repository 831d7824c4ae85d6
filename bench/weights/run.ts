/**
 * `npm run bench:weights`: how fast does an origin get its weights?
 *
 * Generates a ~1 GiB multi-file random model, publishes it to an embedded s3rver running in its
 * own process (so every client below competes with the same server), then times:
 *   (a) ours        syncModel: ranged GETs, hashing in a worker, verified, fsynced, on disk
 *   (b) aws-cli     `/usr/bin/aws s3 cp --recursive` of the same revision (skipped if absent)
 *   (c) serving     the endpoint's limit: raw parallel ranged GETs into nothing
 *   (d) local copy  fs.copyFile of the same bytes
 * and prints MiB/s and the ratios ours/aws and ours/serving. Best of --runs for each.
 *
 * Flags: --gib 1 --files 4 --part-mib 16 --concurrency 8 --runs 2 --sweep (try part/concurrency
 * combinations for ours and the raw fetcher) --dir <scratch dir, default os.tmpdir()>.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { s3Keys } from '#shared/manifest.ts';
import { createS3Client, S3RVER_CREDENTIALS } from '../../origin/src/adapters/s3/index.ts';
import { publishModel } from '../../origin/src/weights/publish.ts';
import { syncModel } from '../../origin/src/weights/sync.ts';
import { generateRandomModel } from './gen-model.ts';
import { rawFetchAll } from './raw-fetch.ts';

const MiB = 1024 * 1024;
const { values: a } = parseArgs({
  options: {
    gib: { type: 'string', default: '1' }, files: { type: 'string', default: '4' }, 'part-mib': { type: 'string', default: '16' },
    concurrency: { type: 'string', default: '8' }, runs: { type: 'string', default: '2' }, sweep: { type: 'boolean' }, dir: { type: 'string' },
  },
});
const ROOT = path.resolve(import.meta.dirname, '../..');
const BUCKET = 'bench';
const MODEL = 'bench-model';
const runs = Math.max(1, Number(a.runs));
const log = (s: string) => process.stderr.write(`${s}\n`);

/** The embedded S3 in a child process (the weights CLI's `s3` command). */
async function startServer(dir: string): Promise<{ endpoint: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'origin/src/cli/weights.ts', 's3', '--port', '0', '--s3-dir', dir, '--bucket', BUCKET], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /embedded S3 at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`s3 server exited (${code})`)));
  });
  return { endpoint, stop: () => child.kill('SIGTERM') };
}

async function best(label: string, fn: (i: number) => Promise<number>): Promise<number> {
  let top = 0;
  for (let i = 0; i < runs; i++) {
    // Start every run with no dirty pages of earlier steps still waiting for the disk.
    spawnSync('sync');
    const t0 = performance.now();
    const bytes = await fn(i);
    const rate = bytes / MiB / ((performance.now() - t0) / 1000);
    log(`  ${label} run ${i + 1}: ${rate.toFixed(0)} MiB/s`);
    top = Math.max(top, rate);
  }
  return top;
}

async function main(): Promise<void> {
  const scratch = await fs.mkdtemp(path.join(a.dir ?? os.tmpdir(), 'motif-bench-weights-'));
  const server = await startServer(path.join(scratch, 's3'));
  const s3 = createS3Client({ endpoint: server.endpoint, bucket: BUCKET, forcePathStyle: true, relaxedChecksums: true, credentials: { ...S3RVER_CREDENTIALS } });
  try {
    const total = Math.round(Number(a.gib) * 1024 * MiB);
    log(`generating ${(total / MiB).toFixed(0)} MiB in ${a.files} files…`);
    const modelDir = path.join(scratch, 'model');
    await generateRandomModel(modelDir, total, Number(a.files));
    log('publishing to the embedded S3…');
    const pub = await publishModel({ s3, bucket: BUCKET, model: MODEL, fromDir: modelDir, ref: 'stable' });
    const bytes = pub.manifest.files.reduce((x, f) => x + f.size, 0);
    const objects = pub.manifest.files.map((f) => ({ key: s3Keys.file(MODEL, pub.revision, f.path), size: f.size }));

    const ours = async (partMib: number, concurrency: number, fsync = true) =>
      best(`ours part=${partMib}MiB c=${concurrency}${fsync ? '' : ' no-fsync'}`, async (i) => {
        const store = path.join(scratch, `ours-${partMib}-${concurrency}-${i}`);
        const r = await syncModel({ s3, bucket: BUCKET, model: MODEL, ref: 'stable', storeDir: store, partSize: partMib * MiB, concurrency, fsync });
        await fs.rm(store, { recursive: true, force: true });
        return r.downloadedBytes;
      });
    const raw = async (partMib: number, concurrency: number) =>
      best(`serving part=${partMib}MiB c=${concurrency}`, () => rawFetchAll({ endpoint: server.endpoint, bucket: BUCKET, objects, partSize: partMib * MiB, concurrency }));

    const combos = a.sweep ? [[8, 4], [8, 8], [16, 4], [16, 8], [16, 16], [32, 8]] : [[Number(a['part-mib']), Number(a.concurrency)]];
    const rows: [string, number][] = [];
    let oursBest = 0;
    let oursNoSync = 0;
    let rawBest = 0;
    for (const [p, c] of combos as [number, number][]) {
      const o = await ours(p, c);
      const r = await raw(p, c);
      const nf = await ours(p, c, false);
      rows.push(
        [`ours (sync, verified, fsynced) part=${p}MiB c=${c}`, o],
        [`ours (sync, verified, no fsync) part=${p}MiB c=${c}`, nf],
        [`serving limit (raw ranged GETs) part=${p}MiB c=${c}`, r],
      );
      oursBest = Math.max(oursBest, o);
      oursNoSync = Math.max(oursNoSync, nf);
      rawBest = Math.max(rawBest, r);
    }

    let awsRate: number | null = null;
    let awsSyncRate: number | null = null;
    const awsBin = process.env['AWS_CLI'] ?? '/usr/bin/aws';
    if (existsSync(awsBin)) {
      const version = spawnSync(awsBin, ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ')[0] ?? 'aws-cli';
      // aws-cli neither verifies nor fsyncs; "+ sync" adds the flush to disk ours pays for.
      const awsRun = (flush: boolean) => async (i: number) => {
        const dest = path.join(scratch, `aws-${i}`);
        const r = spawnSync(awsBin, ['s3', 'cp', '--recursive', '--no-progress', '--only-show-errors', '--endpoint-url', server.endpoint, `s3://${BUCKET}/${s3Keys.revisionPrefix(MODEL, pub.revision)}`, dest], {
          env: { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null' },
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(`aws s3 cp failed: ${r.stderr}`);
        if (flush) spawnSync('sync');
        await fs.rm(dest, { recursive: true, force: true });
        return bytes;
      };
      awsRate = await best(version, awsRun(false));
      awsSyncRate = await best(`${version} + sync`, awsRun(true));
      rows.push([`aws-cli s3 cp --recursive (${version})`, awsRate], [`aws-cli s3 cp --recursive + sync (${version})`, awsSyncRate]);
    } else {
      log(`aws-cli: ${awsBin} not found (apt install awscli, or set AWS_CLI); skipped`);
    }

    const copy = await best('local copy', async (i) => {
      const dest = path.join(scratch, `copy-${i}`);
      await fs.mkdir(dest);
      for (const f of pub.manifest.files) await fs.copyFile(path.join(modelDir, f.path), path.join(dest, f.path));
      await fs.rm(dest, { recursive: true, force: true });
      return bytes;
    });
    rows.push(['local file copy (fs.copyFile)', copy]);

    const out = [`\nweights transfer, ${(bytes / MiB).toFixed(0)} MiB in ${pub.manifest.files.length} files, ${os.cpus().length} cores, best of ${runs}`];
    for (const [name, rate] of rows) out.push(`  ${name.padEnd(58)} ${rate.toFixed(0).padStart(6)} MiB/s`);
    // aws-cli does not fsync or hash: compare it with our no-fsync run too.
    out.push(
      `  ours/aws-cli        ${awsRate && awsSyncRate ? `${(oursNoSync / awsRate).toFixed(2)}× (no fsync vs aws), ${(oursBest / awsSyncRate).toFixed(2)}× (fsynced vs aws + sync)  (target ≥ 1.5×)` : 'n/a (aws-cli absent)'}`,
    );
    out.push(`  ours/serving-limit  ${((100 * oursBest) / rawBest).toFixed(0)}% fsynced, ${((100 * oursNoSync) / rawBest).toFixed(0)}% no fsync (target ≥ 80%)`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    s3.destroy();
    server.stop();
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:weights failed: ${(err as Error).message}\n`);
  process.exit(1);
});
