/**
 * `npm run weights -- <command>`: publish, sync, ls, gc, export, import, s3 (DESIGN §6).
 * The CLI's composition root. It reads the environment as `npm start` does (local-stack.ts): the
 * same MOTIF_DATA_DIR, the same embedded S3 data and bucket, the same weights store as the stack's
 * origin; an external S3 from MOTIF_S3_* (or --endpoint/--bucket). Usage mistakes exit 2 with one
 * line and the usage; failures exit 1 with one line naming the S3 endpoint, store or file involved.
 */
import path from 'node:path';
import { ApiError } from '#shared/errors.ts';
import { exportBundle, importBundle } from '../adapters/node/weights/bundle.ts';
import { gcStore } from '../adapters/node/weights/gc.ts';
import { publishModel } from '../adapters/node/weights/publish.ts';
import { syncModel } from '../adapters/node/weights/sync.ts';
import { startEmbeddedS3 } from '../adapters/s3/index.ts';
import { createProgress, fmtBytes, type ProgressReporter } from '../weights/progress.ts';
import { bucketFromEnv, findRunningEmbeddedS3, localPaths, removeEmbeddedS3Marker, s3PortFromEnv, writeEmbeddedS3Marker } from './local-stack.ts';
import { parseWeightsArgs, UsageError, type WeightsOptions } from './weights-args.ts';
import { listBucket, listStore, storedRevisionModel } from './weights-listing.ts';
import { explainS3Error, type OpenedS3, openS3, type S3Target } from './weights-s3.ts';

// The AWS SDK warns on every run that its future releases need Node 22; the pinned one supports
// Node 20 (see package.json). Keep every other warning.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const env = process.env;
const paths = localPaths(env);
const out = (s: string): void => void process.stdout.write(`${s}\n`);
const note = (s: string): void => void process.stderr.write(`${s}\n`);
/** The S3 a command talks to, once opened: failures are explained against it. */
let target: S3Target | undefined;
let command = '';

function bar(label: string): ProgressReporter {
  return createProgress({ label, tty: process.stderr.isTTY === true, write: (s) => void process.stderr.write(s) });
}

async function withS3<T>(o: WeightsOptions, fn: (s3: OpenedS3) => Promise<T>): Promise<T> {
  const opened = await openS3({ ...(o.endpoint ? { endpoint: o.endpoint } : {}), ...(o.bucket ? { bucket: o.bucket } : {}), env, paths, log: note });
  target = opened.target;
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

const storeOf = (o: WeightsOptions): string => (o.store ? path.resolve(o.store) : paths.store);

async function publish(o: WeightsOptions): Promise<void> {
  await withS3(o, async ({ s3, target: t }) => {
    let p = bar('hash');
    let phase: 'hash' | 'upload' = 'hash';
    const r = await publishModel({
      s3,
      bucket: t.bucket,
      model: o.model!,
      fromDir: o.from!,
      ...(o.ref ? { ref: o.ref } : {}),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.verifyPartBytes !== undefined ? { hashPartSize: o.verifyPartBytes } : {}),
      ...(o.verifyLeafBytes !== undefined ? { hashLeafSize: o.verifyLeafBytes } : {}),
      onProgress: (e) => {
        if (e.phase === 'upload' && phase === 'hash') {
          p.finish();
          p = bar('upload');
          phase = 'upload';
        }
        p.update(e.bytesDone, e.bytesTotal);
      },
    });
    p.finish(`${fmtBytes(r.uploadedBytes)} uploaded, ${fmtBytes(r.skippedBytes)} already there`);
    if (o.json) out(JSON.stringify({ revision: r.revision, uploadedBytes: r.uploadedBytes, skippedBytes: r.skippedBytes }));
    else
      out(
        `published ${r.manifest.model} revision ${r.revision} (${r.manifest.files.length} files) to ${t.label} bucket ${t.bucket}${o.ref ? `; ref ${o.ref} → ${r.revision}` : ''}`,
      );
  });
}

async function sync(o: WeightsOptions): Promise<void> {
  const storeDir = storeOf(o);
  await withS3(o, async ({ s3, target: t }) => {
    const p = bar('download');
    const r = await syncModel({
      s3,
      bucket: t.bucket,
      model: o.model!,
      storeDir,
      activate: o.activate,
      ...(o.rev ? { revision: o.rev } : { ref: o.ref ?? 'stable' }),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.partSizeMib ? { partSize: o.partSizeMib * 1024 * 1024 } : {}),
      ...(o.writes ? { writes: o.writes } : {}),
      onProgress: (e) => {
        if (e.phase === 'download') p.update(e.bytesDone, e.bytesTotal);
      },
    });
    p.finish(`${fmtBytes(r.reusedBytes)} reused, ${fmtBytes(r.resumedBytes)} resumed, ${r.retries} retries, writes: ${r.writes}`);
    if (o.json) out(JSON.stringify({ ...r, manifest: undefined }));
    else out(`${o.model} revision ${r.revision} at ${r.dir}${r.activated ? ' (now current)' : ''}`);
  });
}

async function ls(o: WeightsOptions): Promise<void> {
  const storeDir = storeOf(o);
  let remoteError: unknown;
  await withS3(o, async ({ s3, target: t }) => {
    const models = await listBucket(s3, t.bucket, o.model);
    out(`S3 ${t.label} bucket ${t.bucket}:`);
    if (models.length === 0) out(o.model ? `  no model ${o.model}` : '  no models yet (npm run weights -- publish …, or npm start publishes motif-tiny)');
    for (const m of models) {
      const refs =
        Object.entries(m.refs)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ') || '-';
      const revs = m.revisions.map((r) => `${r.revision} (${fmtBytes(r.bytes)})`).join(' ') || '-';
      out(`  ${m.model}  refs: ${refs}  revisions: ${revs}`);
    }
  }).catch((err: unknown) => {
    remoteError = err; // the local store is still worth listing (e.g. an appliance without S3)
  });
  out(`store ${storeDir}:`);
  const local = await listStore(storeDir, o.model);
  if (local.length === 0) out('  no revisions');
  for (const r of local) out(`  ${r.revision}  ${r.model}  ${fmtBytes(r.bytes)}${r.current ? '  (current)' : ''}`);
  if (remoteError !== undefined) throw remoteError;
}

async function gc(o: WeightsOptions): Promise<void> {
  const r = await gcStore(storeOf(o), { ...(o.keep ? { keep: o.keep } : {}), purgePartial: o.purgePartial, dryRun: o.dryRun });
  out(
    `${o.dryRun ? 'would remove' : 'removed'} ${r.removedRevisions.length} revisions, ${r.removedBlobs.length} blobs (${fmtBytes(r.freedBytes)}) from ${storeOf(o)}; kept ${r.kept.join(', ') || 'none'}`,
  );
}

async function exportRev(o: WeightsOptions, file: string): Promise<void> {
  const storeDir = storeOf(o);
  // The store is not per model: the revision's manifest says which model it is.
  const model = await storedRevisionModel(storeDir, o.rev!);
  if (model === null) {
    const have = (await listStore(storeDir)).map((r) => `${r.revision} (${r.model})`).join(', ') || 'none';
    throw new ApiError(
      'not_found',
      `store ${storeDir} has no revision ${o.rev} (it has: ${have}); sync it first: npm run weights -- sync --model <id> --rev ${o.rev}`,
    );
  }
  if (o.model !== undefined && o.model !== model)
    throw new ApiError('invalid_request_error', `revision ${o.rev} in ${storeDir} is of model ${model}, not ${o.model}`);
  const r = await exportBundle({ storeDir, revision: o.rev!, file: path.resolve(file) });
  out(`exported ${model} revision ${r.revision} (${r.files} files, ${fmtBytes(r.bytes)}) to ${file}`);
}

async function importTar(o: WeightsOptions, file: string): Promise<void> {
  const r = await importBundle({ file: path.resolve(file), storeDir: storeOf(o), activate: o.activate });
  out(`imported ${r.model} revision ${r.revision} into ${r.dir}${r.activated ? ' (now current)' : ''}`);
}

/** The embedded S3 in the foreground, recorded like the stack's so other commands use it. */
async function serveS3(o: WeightsOptions): Promise<void> {
  const dir = o.s3Dir ? path.resolve(o.s3Dir) : paths.s3Dir;
  const running = await findRunningEmbeddedS3(dir);
  if (running) throw new ApiError('conflict', `${dir} is already served at ${running.endpoint} by pid ${running.pid} (npm start?); use that endpoint`);
  const bucket = o.bucket ?? bucketFromEnv(env);
  const server = await startEmbeddedS3({ dir, port: o.port ?? s3PortFromEnv(env), bucket });
  await writeEmbeddedS3Marker(dir, { endpoint: server.endpoint, bucket });
  out(`embedded S3 at ${server.endpoint} (bucket ${bucket}, data ${dir}); AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER; Ctrl-C stops it`);
  // s3rver's close waits for busy keep-alive sockets; a foreground server must stop promptly.
  const stop = () => {
    setTimeout(() => process.exit(0), 1000).unref();
    void removeEmbeddedS3Marker(dir)
      .finally(() => server.close())
      .then(() => process.exit(0));
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
}

async function main(argv: string[]): Promise<void> {
  const args = parseWeightsArgs(argv);
  if (args.kind === 'help') return out(args.text);
  command = args.command;
  const { o, file } = args;
  switch (args.command) {
    case 'publish':
      return publish(o);
    case 'sync':
      return sync(o);
    case 'ls':
      return ls(o);
    case 'gc':
      return gc(o);
    case 'export':
      return exportRev(o, file!);
    case 'import':
      return importTar(o, file!);
    case 's3':
      return serveS3(o);
  }
}

main(process.argv.slice(2)).catch(async (err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`weights: ${err.message}\n\n${err.usage}\n`);
    process.exit(2);
  }
  const explained = target ? await explainS3Error(err, target, paths.s3Dir) : null;
  let msg = explained ?? (err instanceof Error ? err.message : String(err));
  // Name the S3 when the message does not already (store and file errors name their paths).
  if (!explained && target && err instanceof ApiError && !msg.includes(target.endpoint)) msg += ` (S3 ${target.endpoint}, ${target.source})`;
  process.stderr.write(`weights ${command}: ${msg}\n`);
  process.exit(1);
});
