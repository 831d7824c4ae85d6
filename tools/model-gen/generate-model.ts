/**
 * `generateModel`: writes a complete Hugging Face style Motif model directory (config, generation
 * config, tokenizer files, safetensors shards + index) with deterministic random weights. The
 * directory is built in a hidden temp sibling and renamed into place, so readers never see half a
 * model; a stamp file records the generation so a second call with the same options is a no-op.
 * This is the Node composition point of model-gen (file system here, pure logic elsewhere).
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ApiError } from '#shared/errors.ts';
import { buildConfigJson, buildGenerationConfigJson } from './model-config.ts';
import { canonicalJson, type GenerateModelOptions, type ModelSpec, resolveModelSpec } from './model-spec.ts';
import { fileSink, writeTextFile } from './node-file-sink.ts';
import { buildNormalTable } from './normal-table.ts';
import { buildShardIndex } from './safetensors-shards.ts';
import { planSafetensors, writeSafetensors } from './safetensors-writer.ts';
import { createTensorFiller } from './tensor-fill.ts';

/** Name of the stamp file; a dot-file, so weight publishing skips it. */
export const STAMP_FILE = '.motif-model-gen.json';

export interface GeneratedModel {
  /** Absolute path of the model directory. */
  dir: string;
  /** Model files relative to `dir`, sorted (the stamp file is not listed). */
  files: string[];
  /** Total size of `files`. */
  bytes: number;
}

interface Stamp {
  key: Record<string, unknown>;
  files: { path: string; size: number }[];
}

/**
 * Generate (or find already generated) the model described by `opts` in `opts.outDir`.
 * Idempotent; refuses to replace a non-empty directory it did not create. Bad options throw an
 * `ApiError` before anything is written.
 */
export async function generateModel(opts: GenerateModelOptions): Promise<GeneratedModel> {
  const spec = resolveModelSpec(opts);
  const dir = resolve(spec.options.outDir);
  const existing = await readStamp(dir);
  if (existing && (await matches(dir, existing, spec))) return result(dir, existing);
  if (!existing && (await isNonEmptyDir(dir))) {
    throw new ApiError('conflict', `${dir} exists and was not created by the model generator; refusing to overwrite it`, { param: 'outDir' });
  }

  await mkdir(dirname(dir), { recursive: true });
  await removeAbandonedTempDirs(dir);
  const tmp = await mkdtemp(join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-`));
  await chmod(tmp, 0o755); // mkdtemp makes it owner-only; a model dir is ordinary readable data
  try {
    const stamp = await writeModel(tmp, spec);
    await moveIntoPlace(tmp, dir, spec);
    return result(dir, stamp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function writeModel(dir: string, spec: ModelSpec): Promise<Stamp> {
  const json = (name: string, doc: unknown) => writeTextFile(join(dir, name), `${JSON.stringify(doc, null, 2)}\n`);
  await json('config.json', buildConfigJson(spec.arch, spec.dtype));
  await json('generation_config.json', buildGenerationConfigJson(spec.arch));
  await json('tokenizer.json', spec.tokenizer.tokenizerJson);
  await json('tokenizer_config.json', spec.tokenizer.tokenizerConfig);
  await json('special_tokens_map.json', spec.tokenizer.specialTokensMap);
  if (spec.shards.length > 1) await json('model.safetensors.index.json', buildShardIndex(spec.shards));

  const totalBytes = spec.shards.reduce((n, s) => n + s.dataBytes, 0);
  let bytes = 0;
  const onProgress = spec.options.onProgress;
  const fill = createTensorFiller({
    seed: spec.options.seed,
    normals: buildNormalTable(),
    inits: new Map(spec.tensors.map((t) => [t.name, t.init])),
    onBytes: (n) => {
      bytes += n;
      onProgress?.({ bytes, totalBytes });
    },
  });
  for (const shard of spec.shards) {
    await writeSafetensors(await fileSink(join(dir, shard.file)), planSafetensors(shard.tensors), fill);
  }

  const files: Stamp['files'] = [];
  for (const path of (await readdir(dir)).sort()) files.push({ path, size: (await stat(join(dir, path))).size });
  const stamp: Stamp = { key: spec.stamp, files };
  // Written last: a directory with a stamp is complete.
  await writeTextFile(join(dir, STAMP_FILE), `${JSON.stringify(stamp, null, 2)}\n`);
  return stamp;
}

/** Rename the finished temp dir to `dir`, coping with a concurrent generator or an older model. */
async function moveIntoPlace(tmp: string, dir: string, spec: ModelSpec): Promise<void> {
  try {
    await rename(tmp, dir); // replaces a missing or empty directory atomically
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  const current = await readStamp(dir);
  if (current && (await matches(dir, current, spec))) {
    // Another process generated the same model meanwhile: keep theirs.
    await rm(tmp, { recursive: true, force: true });
    return;
  }
  if (!current) throw new ApiError('conflict', `${dir} appeared and was not created by the model generator; refusing to overwrite it`, { param: 'outDir' });
  // A different generation: swap it out, then delete it.
  const old = `${tmp}.old`;
  await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

/**
 * Delete temp siblings left by generators that died mid-write (a full-size model leaves gigabytes).
 * The owner's pid is in the name; a live pid (or one we may not signal) is left alone.
 */
async function removeAbandonedTempDirs(dir: string): Promise<void> {
  const prefix = `.${basename(dir)}.tmp-`;
  for (const name of await readdir(dirname(dir)).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await rm(join(dirname(dir), name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function readStamp(dir: string): Promise<Stamp | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, STAMP_FILE), 'utf8')) as Stamp;
    return parsed && typeof parsed.key === 'object' && Array.isArray(parsed.files) ? parsed : null;
  } catch {
    return null;
  }
}

/** Same generation key, and every recorded file still present with its recorded size. */
async function matches(dir: string, stamp: Stamp, spec: ModelSpec): Promise<boolean> {
  if (canonicalJson(stamp.key) !== canonicalJson(spec.stamp)) return false;
  for (const f of stamp.files) {
    const s = await stat(join(dir, f.path)).catch(() => null);
    if (!s || s.size !== f.size) return false;
  }
  return true;
}

async function isNonEmptyDir(dir: string): Promise<boolean> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries.length > 0;
}

function result(dir: string, stamp: Stamp): GeneratedModel {
  const files = stamp.files.map((f) => f.path).sort();
  return { dir, files, bytes: stamp.files.reduce((n, f) => n + f.size, 0) };
}
