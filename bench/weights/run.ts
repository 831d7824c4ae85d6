/**
 * `npm run bench:weights`: how fast does an origin get its weights?
 *
 * Generates a ~1 GiB multi-file random model, publishes it to an embedded s3rver running in its
 * own process, then, in two layouts — the endpoint on its own core (server on core 0, this process
 * and every client on core 1: an S3 endpoint on another host) and the endpoint sharing both cores
 * with the clients — times, in interleaved rounds:
 *   (a) ours        syncModel as an origin runs it: signed ranged GETs, each part verified as it
 *                   lands against the manifest's part hashes (over 256 KiB leaves, hashed four
 *                   abreast by SHA-NI), written as `writes: 'auto'` does (O_DIRECT until it makes
 *                   the download wait, then the page cache), every blob fdatasynced before it
 *                   enters the store; and baselines of ours: plain per-part sha256s (one hash
 *                   stream per part), a manifest without part hashes (whole-file sha256), and
 *                   each write path fixed (O_DIRECT; the page cache)
 *   (b) aws-cli     `aws s3 cp --recursive` of the same revision ($AWS_CLI or `aws` on PATH; the
 *                   bench refuses to start without it: the ratio to it is a target)
 *   (c) serving     the endpoint's limit: parallel ranged GETs into nothing by three fetchers
 *                   (curl, node:http, bare sockets — raw-fetch.ts); the best one is the limit.
 *                   The socket fetcher also runs signed (SigV4, as every real S3 client
 *                   must): the endpoint's limit for authenticated GETs
 *   (d) local copy  fs.copyFile of the same bytes
 * and prints per layout the median MiB/s of each, then four ratios (each layout: ours / aws-cli,
 * ours / serving limit) against their targets (report.ts), each the median of the per-round
 * ratios (the machine's speed drifts between rounds; a round's variants run back to back, ours
 * between two bare fetchers, so a ratio within a round is steadier than a ratio of medians).
 *
 * Flags: --gib 1 --files 4 --part-mib 16 --concurrency 8 --runs 5 --layout both|pinned|shared
 * (--pin = --layout pinned) --lean (only the variants the targets need: bare sockets, curl, ours,
 * aws-cli) --sweep (try part/concurrency combinations for ours and the socket fetcher; a revision
 * is published per part size) --dir <scratch dir, default os.tmpdir()>.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SignatureV4 } from '@smithy/signature-v4';
import { s3Keys } from '#shared/manifest.ts';
import { publishModel } from '../../origin/src/adapters/node/weights/publish.ts';
import { type SyncResult, syncModel } from '../../origin/src/adapters/node/weights/sync.ts';
import { createS3Client, S3RVER_CREDENTIALS } from '../../origin/src/adapters/s3/index.ts';
import { NodeSha256 } from '../../origin/src/adapters/s3/node-sha256.ts';
import type { WriteMode } from '../../origin/src/weights/sync-options.ts';
import { generateRandomModel } from './gen-model.ts';
import { log, MiB, median, place, removeLater, sha256MsPerMiB, startServer, timed } from './measure.ts';
import { curlFetchAll, httpFetchAll, socketFetchAll } from './raw-fetch.ts';
import { AWS_CLI_MISSING, findAwsCli, type Kind, LAYOUT_TITLE, type Layout, type LayoutRounds, pairedRatio, type Sample, verdict } from './report.ts';

const { values: a } = parseArgs({
  options: {
    gib: { type: 'string', default: '1' },
    files: { type: 'string', default: '4' },
    'part-mib': { type: 'string', default: '16' },
    concurrency: { type: 'string', default: '8' },
    runs: { type: 'string', default: '5' },
    sweep: { type: 'boolean' },
    pin: { type: 'boolean' },
    layout: { type: 'string', default: 'both' },
    lean: { type: 'boolean' },
    dir: { type: 'string' },
  },
});
const ROOT = path.resolve(import.meta.dirname, '../..');
const BUCKET = 'bench';
const MODEL = 'bench-model';
/** The same files published with DESIGN's minimal manifest (no part hashes): our own baseline. */
const WHOLE_MODEL = 'bench-model-whole';
/** ...and with plain per-part sha256s (no leaves): one hash stream per part. */
const PLAIN_MODEL = 'bench-model-plain';
const runs = Math.max(1, Number(a.runs));
const layouts: Layout[] = a.pin || a.layout === 'pinned' ? ['pinned'] : a.layout === 'shared' ? ['shared'] : ['pinned', 'shared'];

interface Variant {
  name: string;
  kind: Kind;
  fn: () => Promise<number | null>;
}

/** A layout's table: every variant's medians, the paired ratios, and the CPU ceiling of a verifying client. */
function layoutTable(layout: Layout, variants: Variant[], r: LayoutRounds, header: string): string[] {
  const samples = variants.map((_, i) => r.rounds.flatMap((row) => (row[i] ? [row[i]] : [])));
  const med = (i: number, k: keyof Sample) => (samples[i]!.length ? median(samples[i]!.map((x) => x[k])) : null);
  const rows = variants.map((v, i) => ({ ...v, rate: med(i, 'rate'), clientMs: med(i, 'clientMs'), serverMs: med(i, 'serverMs') }));
  const out = [`\n${header}, ${LAYOUT_TITLE[layout]}`];
  const num = (x: number | null, d: number, w: number) => (x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(d)).padStart(w);
  out.push(`  ${''.padEnd(66)} ${'MiB/s'.padStart(6)}   CPU ms/MiB: client  server`);
  for (const row of rows) out.push(`  ${row.name.padEnd(66)} ${num(row.rate, 0, 6)}               ${num(row.clientMs, 2, 6)}  ${num(row.serverMs, 2, 6)}`);
  const signed = pairedRatio(r, 'signed');
  if (signed !== null)
    out.push(`  ours/signed serving limit ${(100 * signed).toFixed(0)}% (the endpoint's limit for SigV4-signed GETs; median of paired rounds)`);
  // What a verifying client could reach at best here: it pays at least the cheapest fetcher's CPU
  // and sha256 of every byte (disk writes come on top), on its own core (pinned) or on the
  // server's cores (shared). The median of the fetcher's samples, this run.
  const ref = rows.filter((x) => x.kind === 'serving' && x.rate !== null).sort((x, y) => y.rate! - x.rate!)[0];
  if (ref && ref.clientMs !== null && ref.serverMs !== null && !Number.isNaN(ref.serverMs)) {
    const shas = sha256MsPerMiB();
    const sha = Math.min(shas.stream, shas.leaves ?? Infinity);
    const clientFloor = ref.clientMs + sha;
    const ceiling = layout === 'pinned' ? Math.min(1000 / ref.serverMs, 1000 / clientFloor) : (os.cpus().length * 1000) / (ref.serverMs + clientFloor);
    out.push(
      `  CPU ceiling         a verifying client needs ≥ ${clientFloor.toFixed(2)} ms/MiB (cheapest fetch ${ref.clientMs.toFixed(2)} + sha256 ${sha.toFixed(2)}${shas.leaves !== null ? ` of 256 KiB leaves four abreast; one stream: ${shas.stream.toFixed(2)}` : ''}, before disk writes); with the server's ${ref.serverMs.toFixed(2)} ms/MiB`,
      `                      that caps it near ${ceiling.toFixed(0)} MiB/s = ${Math.min(100, (100 * ceiling) / ref.rate!).toFixed(0)}% of the serving limit here`,
    );
  }
  return out;
}

/** Which write path `auto` took in ours' syncs, and how long its direct parts waited for the disk. */
function autoWritesLine(rs: SyncResult[]): string {
  const count = (w: SyncResult['writes']) => rs.filter((r) => r.writes === w).length;
  const shares = rs.flatMap((r) => (r.writeStallShare === null ? [] : [r.writeStallShare]));
  const stall = shares.length
    ? `; direct parts waited for the disk ${(100 * median(shares)).toFixed(1)}% of their time (median; max ${(100 * Math.max(...shares)).toFixed(1)}%)`
    : '';
  return `  write path (auto)   of ${rs.length} syncs of ours: O_DIRECT ${count('direct')}, fell back to the page cache ${count('direct, then page-cache')}, page cache ${count('page-cache')}${stall}`;
}

async function main(): Promise<void> {
  // Refuse before minutes of work: the ratio to aws-cli is a target, never a silent n/a.
  const aws = findAwsCli(process.env);
  if (!aws) throw new Error(AWS_CLI_MISSING);
  const scratch = await fs.mkdtemp(path.join(a.dir ?? os.tmpdir(), 'motif-bench-weights-'));
  const server = await startServer(ROOT, path.join(scratch, 's3'), BUCKET);
  const s3 = createS3Client({
    endpoint: server.endpoint,
    bucket: BUCKET,
    forcePathStyle: true,
    relaxedChecksums: true,
    credentials: { ...S3RVER_CREDENTIALS },
  });
  try {
    const total = Math.round(Number(a.gib) * 1024 * MiB);
    log(`generating ${(total / MiB).toFixed(0)} MiB in ${a.files} files…`);
    const modelDir = path.join(scratch, 'model');
    await generateRandomModel(modelDir, total, Number(a.files));
    log('publishing to the embedded S3…');
    const pub = await publishModel({ s3, bucket: BUCKET, model: MODEL, fromDir: modelDir, ref: 'stable', hashPartSize: Number(a['part-mib']) * MiB });
    const P = Number(a['part-mib']);
    const C = Number(a.concurrency);
    if (!a.lean) {
      await publishModel({ s3, bucket: BUCKET, model: WHOLE_MODEL, fromDir: modelDir, ref: 'stable', hashPartSize: null });
      await publishModel({ s3, bucket: BUCKET, model: PLAIN_MODEL, fromDir: modelDir, ref: 'stable', hashPartSize: P * MiB, hashLeafSize: null });
    }
    const combos = (
      a.sweep
        ? [
            [8, 4],
            [8, 8],
            [16, 4],
            [16, 8],
            [16, 16],
            [32, 8],
          ]
        : [[P, C]]
    ) as [number, number][];
    // A sync downloads in its manifest's parts: one revision per part size swept.
    const modelFor = (p: number) => (p === P ? MODEL : `${MODEL}-p${p}`);
    for (const p of new Set(combos.map(([x]) => x))) {
      if (p !== P) await publishModel({ s3, bucket: BUCKET, model: modelFor(p), fromDir: modelDir, ref: 'stable', hashPartSize: p * MiB });
    }
    const bytes = pub.manifest.files.reduce((x, f) => x + f.size, 0);
    const objects = pub.manifest.files.map((f) => ({ key: s3Keys.file(MODEL, pub.revision, f.path), size: f.size }));

    const cfg = (p: number, c: number) => ({ endpoint: server.endpoint, bucket: BUCKET, objects, partSize: p * MiB, concurrency: c });
    const host = new URL(server.endpoint);
    const signer = new SignatureV4({ credentials: { ...S3RVER_CREDENTIALS }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false });
    const sign = async (p: string, range: string) =>
      (
        await signer.sign({
          method: 'GET',
          protocol: 'http:',
          hostname: host.hostname,
          port: Number(host.port),
          path: p,
          query: {},
          headers: { host: host.host, range },
        })
      ).headers;
    const signedCfg = (p: number, c: number) => ({ ...cfg(p, c), sign });
    const syncRun = (model: string, p: number, c: number, writes: WriteMode, tag: string) => async () => {
      const store = path.join(scratch, `ours-${tag}`);
      const r = await syncModel({ s3, bucket: BUCKET, model, ref: 'stable', storeDir: store, partSize: p * MiB, concurrency: c, writes });
      removeLater(store);
      if (writes === 'auto' && model === modelFor(p)) autoChoices.push(r);
      return r.downloadedBytes;
    };
    // aws-cli neither verifies nor fsyncs; "+ sync" adds the flush to disk ours pays for.
    const awsRun = (flush: boolean) => async () => {
      const dest = path.join(scratch, 'aws');
      const r = spawnSync(
        aws.bin,
        [
          's3',
          'cp',
          '--recursive',
          '--no-progress',
          '--only-show-errors',
          '--endpoint-url',
          server.endpoint,
          `s3://${BUCKET}/${s3Keys.revisionPrefix(MODEL, pub.revision)}`,
          dest,
        ],
        {
          env: { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null' },
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`aws s3 cp failed: ${r.stderr}`);
      if (flush) spawnSync('sync');
      removeLater(dest);
      return bytes;
    };
    const copyRun = async () => {
      const dest = path.join(scratch, 'copy');
      await fs.mkdir(dest);
      for (const f of pub.manifest.files) await fs.copyFile(path.join(modelDir, f.path), path.join(dest, f.path));
      removeLater(dest);
      return bytes;
    };

    /** What `auto` chose in this layout's syncs of ours (printed under its table). */
    let autoChoices: SyncResult[] = [];
    const variants: Variant[] = [];
    // Ours runs between two bare fetchers, so a round's ratio compares runs seconds apart.
    for (const [p, c] of combos) {
      variants.push(
        { name: `serving limit: bare sockets part=${p}MiB c=${c}`, kind: 'serving', fn: () => socketFetchAll(cfg(p, c)) },
        { name: `ours: sync, verified, fdatasynced part=${p}MiB c=${c}`, kind: 'ours', fn: syncRun(modelFor(p), p, c, 'auto', `b${p}-${c}`) },
        { name: `signed serving limit: bare sockets part=${p}MiB c=${c}`, kind: 'signed', fn: () => socketFetchAll(signedCfg(p, c)) },
      );
    }
    variants.push({ name: `serving limit: curl --parallel part=${P}MiB c=${C}`, kind: 'serving', fn: async () => curlFetchAll(cfg(P, C)) });
    if (!a.lean) {
      variants.push(
        { name: `serving limit: node:http part=${P}MiB c=${C}`, kind: 'serving', fn: () => httpFetchAll(cfg(P, C)) },
        // Baselines of our own: the same sync with plain per-part sha256s (no leaves), without the
        // manifest's part hashes (whole-file sha256, hashed from the page cache behind the
        // download), and with each write path fixed.
        { name: `ours, plain part sha256s (one stream per part) part=${P}MiB c=${C}`, kind: 'other', fn: syncRun(PLAIN_MODEL, P, C, 'auto', 'p') },
        { name: `ours, manifest without part hashes part=${P}MiB c=${C}`, kind: 'other', fn: syncRun(WHOLE_MODEL, P, C, 'auto', 'w') },
        { name: `ours, O_DIRECT writes part=${P}MiB c=${C}`, kind: 'other', fn: syncRun(MODEL, P, C, 'direct', 'd') },
        { name: `ours, page-cache writes part=${P}MiB c=${C}`, kind: 'other', fn: syncRun(MODEL, P, C, 'page-cache', 'c') },
      );
    }
    variants.push(
      { name: `aws-cli s3 cp --recursive (${aws.version})`, kind: 'aws', fn: awsRun(false) },
      { name: `aws-cli s3 cp --recursive + sync (${aws.version})`, kind: 'aws+sync', fn: awsRun(true) },
    );
    if (!a.lean) variants.push({ name: 'local file copy (fs.copyFile, the disk limit)', kind: 'other', fn: copyRun });

    // Interleaved rounds per layout: every variant runs once per round, so drift in the machine's
    // load lands on all of them alike.
    const results: LayoutRounds[] = [];
    const out: string[] = [];
    for (const layout of layouts) {
      place(layout, server.pid);
      autoChoices = [];
      const r: LayoutRounds = { layout, kinds: variants.map((v) => v.kind), rounds: [] };
      for (let round = 0; round < runs; round++) {
        log(`${layout}: round ${round + 1} of ${runs}`);
        const row: (Sample | null)[] = [];
        for (const v of variants) row.push(await timed(v.name, server.pid, v.fn));
        r.rounds.push(row);
      }
      results.push(r);
      const header = `weights transfer, ${(bytes / MiB).toFixed(0)} MiB in ${pub.manifest.files.length} files, ${os.cpus().length} cores, median of ${runs} interleaved rounds`;
      out.push(...layoutTable(layout, variants, r, header), autoWritesLine(autoChoices));
    }
    const v = verdict(results);
    out.push('\nratios: median over rounds of ours / the best of the other kind in the same round', ...v.lines);
    out.push(`weights: ${v.met ? 'every target met' : 'targets NOT met'}`);
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
