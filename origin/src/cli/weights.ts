/**
 * `npm run weights -- <command>`: publish, sync, gc, ls, export, import, s3 (DESIGN §6).
 * The CLI's composition root: S3 from MOTIF_S3_* (or flags); without an endpoint it runs the
 * embedded s3rver over MOTIF_S3_DIR (default .data/s3), the same data the local stack serves.
 * Errors print the endpoint/bucket/key involved and exit non-zero.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ApiError } from '#shared/errors.ts';
import { createS3Client, s3ConfigFromEnv, startEmbeddedS3, type S3ObjectStore } from '../adapters/s3/index.ts';
import { exportBundle, importBundle } from '../weights/bundle.ts';
import { gcStore, listLocal } from '../weights/gc.ts';
import { createProgress, fmtBytes } from '../weights/progress.ts';
import { publishModel } from '../weights/publish.ts';
import { listRemote } from '../weights/refs.ts';
import { syncModel } from '../weights/sync.ts';

const USAGE = `usage: npm run weights -- <command> [options]
  publish --from <dir> --model <id> [--ref stable] [--concurrency 4] [--verify-part-mib 16 | 0] [--verify-leaf-kib 256 | 0] [--json]
          (--verify-part-mib: the parts a sync fetches and verifies as they land; 0 = whole-file sha256 only;
           --verify-leaf-kib: each part hash covers the sha256s of its leaves, hashed several abreast; 0 = plain sha256 per part)
  sync    --model <id> [--ref stable | --rev <rev>] [--store <dir>] [--part-size-mib 16] [--concurrency 8]
          [--no-activate] [--json]   (--part-size-mib: for files the manifest lists no part hashes for)
  gc      [--model <id> | --store <dir>] [--keep <rev,...>] [--purge-partial] [--dry-run]
  ls      [--model <id>] [--store <dir>]
  export  --model <id> --rev <rev> [--store <dir>] <file.tar>
  import  <file.tar> [--store <dir>] [--no-activate]
  s3      [--port 9000] [--s3-dir .data/s3]        run the embedded S3 in the foreground
S3: MOTIF_S3_ENDPOINT, MOTIF_S3_BUCKET, MOTIF_S3_REGION, MOTIF_S3_FORCE_PATH_STYLE,
    MOTIF_S3_RELAXED_CHECKSUMS, AWS credentials chain; or --endpoint/--bucket.
Store: --store, else MOTIF_WEIGHTS_STORE, else .data/weights/<model>.`;

// The AWS SDK warns on every run that future releases need Node 22; the pinned one supports Node
// 20 (see package.json). Keep every other warning.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (!w.message.includes('NodeVersionSupportWarning') && !w.name.includes('NodeVersionSupportWarning')) process.stderr.write(`${w.name}: ${w.message}\n`);
});

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string' }, model: { type: 'string' }, ref: { type: 'string' }, rev: { type: 'string' },
    store: { type: 'string' }, concurrency: { type: 'string' }, 'part-size-mib': { type: 'string' }, 'verify-part-mib': { type: 'string' }, 'verify-leaf-kib': { type: 'string' },
    'no-activate': { type: 'boolean' }, json: { type: 'boolean' }, keep: { type: 'string' }, 'purge-partial': { type: 'boolean' },
    'dry-run': { type: 'boolean' }, endpoint: { type: 'string' }, bucket: { type: 'string' },
    port: { type: 'string' }, 's3-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
  },
});
const [command, ...rest] = positionals;
const env = process.env;
const out = (s: string): void => void process.stdout.write(`${s}\n`);
let where = '';

function need(name: keyof typeof a): string {
  const v = a[name];
  if (typeof v !== 'string' || v === '') throw new ApiError('invalid_request_error', `--${name} is required for '${command}'\n${USAGE}`);
  return v;
}
const int = (name: keyof typeof a): number | undefined => (a[name] === undefined ? undefined : Number(a[name]));
/** `--verify-part-mib N`: part hashes every N MiB; 0 publishes the minimal manifest. */
function verifyPartSize(v: string): number | null {
  if (!/^\d+$/.test(v) || Number(v) > 256) throw new ApiError('invalid_request_error', `--verify-part-mib must be a whole number of MiB from 0 to 256 (0 = no part hashes), got '${v}'`);
  return Number(v) === 0 ? null : Number(v) * 1024 * 1024;
}
/** `--verify-leaf-kib N`: leaves of N KiB (a multiple of 4); 0 = plain per-part sha256s. */
function verifyLeafSize(v: string): number | null {
  if (!/^\d+$/.test(v) || Number(v) % 4 !== 0 || Number(v) > 256 * 1024) {
    throw new ApiError('invalid_request_error', `--verify-leaf-kib must be a whole number of KiB, a multiple of 4, up to 262144 (0 = plain part hashes), got '${v}'`);
  }
  return Number(v) === 0 ? null : Number(v) * 1024;
}
const storeDir = (model?: string) =>
  path.resolve(a.store ?? env['MOTIF_WEIGHTS_STORE'] ?? path.join('.data', 'weights', model ?? need('model')));

/** The configured S3, or the embedded one when no endpoint is set (stopped by `close`). */
async function openS3(): Promise<{ s3: S3ObjectStore; bucket: string; close: () => Promise<void> }> {
  const endpoint = a.endpoint ?? env['MOTIF_S3_ENDPOINT'];
  if (endpoint) {
    const cfg = s3ConfigFromEnv(env, { endpoint, ...(a.bucket ? { bucket: a.bucket } : { bucket: env['MOTIF_S3_BUCKET'] ?? 'motif-weights' }) });
    const s3 = createS3Client(cfg);
    where = `endpoint ${s3.endpoint}, bucket ${cfg.bucket}`;
    return { s3, bucket: cfg.bucket, close: async () => s3.destroy() };
  }
  const dir = path.resolve(a['s3-dir'] ?? env['MOTIF_S3_DIR'] ?? path.join('.data', 's3'));
  const server = await startEmbeddedS3({ dir, port: 0, bucket: a.bucket ?? env['MOTIF_S3_BUCKET'] ?? 'motif-weights' });
  const s3 = createS3Client(server.config);
  where = `embedded S3 over ${dir}, bucket ${server.bucket}`;
  process.stderr.write(`weights: no MOTIF_S3_ENDPOINT; using the ${where}\n`);
  return { s3, bucket: server.bucket, close: async () => (s3.destroy(), server.close()) };
}

function bar(label: string) {
  return createProgress({ label, tty: process.stderr.isTTY === true, write: (s) => void process.stderr.write(s) });
}

async function main(): Promise<void> {
  if (a.help || !command) return out(USAGE);
  switch (command) {
    case 'publish': {
      const { s3, bucket, close } = await openS3();
      try {
        const p = bar('upload');
        const r = await publishModel({
          s3, bucket, model: need('model'), fromDir: need('from'), ...(a.ref ? { ref: a.ref } : {}),
          ...(int('concurrency') ? { concurrency: int('concurrency') } : {}),
          ...(a['verify-part-mib'] !== undefined ? { hashPartSize: verifyPartSize(a['verify-part-mib']) } : {}),
          ...(a['verify-leaf-kib'] !== undefined ? { hashLeafSize: verifyLeafSize(a['verify-leaf-kib']) } : {}),
          onProgress: (e) => {
            if (e.phase === 'upload') p.update(e.bytesDone, e.bytesTotal);
          },
        });
        p.finish(`${fmtBytes(r.uploadedBytes)} uploaded, ${fmtBytes(r.skippedBytes)} already there`);
        if (a.json) out(JSON.stringify({ revision: r.revision, uploadedBytes: r.uploadedBytes, skippedBytes: r.skippedBytes }));
        else out(`published ${r.manifest.model} revision ${r.revision} (${r.manifest.files.length} files)${a.ref ? `; ref ${a.ref} → ${r.revision}` : ''}`);
      } finally {
        await close();
      }
      return;
    }
    case 'sync': {
      const model = need('model');
      const { s3, bucket, close } = await openS3();
      try {
        const p = bar('download');
        const r = await syncModel({
          s3, bucket, model, storeDir: storeDir(model), activate: !a['no-activate'],
          ...(a.rev ? { revision: a.rev } : { ref: a.ref ?? 'stable' }),
          ...(int('concurrency') ? { concurrency: int('concurrency') } : {}),
          ...(int('part-size-mib') ? { partSize: int('part-size-mib')! * 1024 * 1024 } : {}),
          onProgress: (e) => {
            if (e.phase === 'download') p.update(e.bytesDone, e.bytesTotal);
          },
        });
        p.finish(`${fmtBytes(r.reusedBytes)} reused, ${fmtBytes(r.resumedBytes)} resumed, ${r.retries} retries`);
        if (a.json) out(JSON.stringify({ ...r, manifest: undefined }));
        else out(`${model} revision ${r.revision} at ${r.dir}${r.activated ? ' (now current)' : ''}`);
      } finally {
        await close();
      }
      return;
    }
    case 'gc': {
      const r = await gcStore(storeDir(a.model), {
        ...(a.keep ? { keep: a.keep.split(',') } : {}), purgePartial: a['purge-partial'] === true, dryRun: a['dry-run'] === true,
      });
      out(`${a['dry-run'] ? 'would remove' : 'removed'} ${r.removedRevisions.length} revisions, ${r.removedBlobs.length} blobs (${fmtBytes(r.freedBytes)}); kept ${r.kept.join(', ') || 'none'}`);
      return;
    }
    case 'ls': {
      const { s3, bucket, close } = await openS3();
      try {
        for (const m of await listRemote({ s3, bucket, ...(a.model ? { model: a.model } : {}) })) {
          out(`${m.model}  refs: ${Object.entries(m.refs).map(([k, v]) => `${k}=${v}`).join(' ') || '-'}  revisions: ${m.revisions.join(' ') || '-'}`);
        }
      } finally {
        await close();
      }
      if (a.model || a.store) {
        const l = await listLocal(storeDir(a.model));
        out(`local ${storeDir(a.model)}: current ${l.current ?? '-'}; revisions ${l.revisions.join(' ') || '-'}`);
      }
      return;
    }
    case 'export': {
      const file = rest[0];
      if (!file) throw new ApiError('invalid_request_error', `export needs a <file.tar>\n${USAGE}`);
      const r = await exportBundle({ storeDir: storeDir(need('model')), revision: need('rev'), file: path.resolve(file) });
      out(`exported ${r.revision} (${r.files} files, ${fmtBytes(r.bytes)}) to ${file}`);
      return;
    }
    case 'import': {
      const file = rest[0];
      if (!file) throw new ApiError('invalid_request_error', `import needs a <file.tar>\n${USAGE}`);
      const r = await importBundle({ file: path.resolve(file), storeDir: (m) => storeDir(m), activate: !a['no-activate'] });
      out(`imported ${r.model} revision ${r.revision} into ${r.dir}${r.activated ? ' (now current)' : ''}`);
      return;
    }
    case 's3': {
      const dir = path.resolve(a['s3-dir'] ?? env['MOTIF_S3_DIR'] ?? path.join('.data', 's3'));
      const server = await startEmbeddedS3({ dir, port: int('port') ?? 9000, bucket: a.bucket ?? env['MOTIF_S3_BUCKET'] ?? 'motif-weights' });
      out(`embedded S3 at ${server.endpoint} (bucket ${server.bucket}, data ${dir}); AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER`);
      // s3rver's close waits for busy keep-alive sockets; a foreground server must stop promptly.
      const stop = () => {
        setTimeout(() => process.exit(0), 1000).unref();
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop).once('SIGTERM', stop);
      return;
    }
    default:
      throw new ApiError('invalid_request_error', `unknown command '${command}'\n${USAGE}`);
  }
}

main().catch((err: unknown) => {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`\nweights ${command ?? ''} failed${where && !msg.includes('endpoint') ? ` (${where})` : ''}: ${msg}\n`);
  process.exit(1);
});
