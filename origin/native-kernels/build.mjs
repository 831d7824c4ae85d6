#!/usr/bin/env node
// Builds the native kernels addon. Runs as the root package's `install` script, so a fresh
// `npm install` / `npm ci` compiles it. Plain JavaScript on purpose: it runs before anything else
// of the project could be trusted to work, with nothing but Node itself.
//
// It never fails the install: without a C++ toolchain (or with MOTIF_SKIP_NATIVE_KERNELS=1) it
// writes the reason to build/build-error.txt and exits 0, and loadKernelsAddon() then returns null
// with that reason, so the engine falls back to the portable TS kernels.
//   node origin/native-kernels/build.mjs            # build unless up to date
//   node origin/native-kernels/build.mjs --force    # always rebuild
//   node origin/native-kernels/build.mjs --strict   # exit 1 if the build fails
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const buildDir = join(here, 'build');
const binary = join(buildDir, 'Release', 'motif_kernels.node');
const errorFile = join(buildDir, 'build-error.txt');
const stampFile = join(buildDir, 'stamp.txt');
const args = new Set(process.argv.slice(2));
const log = (msg) => console.log(`motif native kernels: ${msg}`);

function fail(reason) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(errorFile, `${reason}\n`);
  rmSync(stampFile, { force: true });
  log(`not built (${reason.split('\n')[0]}); the engine will use the portable TS kernels`);
  process.exit(args.has('--strict') ? 1 : 0);
}

// Rebuild only when the sources, Node's ABI or the CPU architecture changed: `npm install` runs
// this script every time, and an unchanged addon should not cost a compile.
function stamp() {
  const hash = createHash('sha256');
  const files = [
    'binding.gyp',
    ...readdirSync(join(here, 'src'))
      .sort()
      .map((f) => join('src', f)),
  ];
  for (const f of files) hash.update(f).update(readFileSync(join(here, f)));
  hash.update(`${process.version} ${process.arch} ${process.platform}`);
  return hash.digest('hex');
}

// npm exposes its bundled node-gyp to lifecycle scripts; outside npm, look next to this node.
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p));
}

// The addon needs only node_api.h. When Node's own headers are installed next to the binary,
// point node-gyp at them so the build works offline instead of downloading a header tarball.
function localNodeDir() {
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

if (process.env.MOTIF_SKIP_NATIVE_KERNELS === '1') fail('skipped: MOTIF_SKIP_NATIVE_KERNELS=1');

const want = stamp();
if (!args.has('--force') && existsSync(binary) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === want) {
  log(`up to date (${binary})`);
  process.exit(0);
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found (it ships with npm)');
const nodeDir = localNodeDir();
const gypArgs = [nodeGyp, 'rebuild', '--jobs=2', ...(nodeDir ? [`--nodedir=${nodeDir}`] : [])];
log(`building with ${nodeDir ? `the headers in ${nodeDir}` : 'downloaded headers'} ...`);
const res = spawnSync(process.execPath, gypArgs, { cwd: here, encoding: 'utf8', timeout: 10 * 60_000 });
if (res.error || res.status !== 0 || !existsSync(binary)) {
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
  fail(`node-gyp rebuild failed${res.error ? `: ${res.error.message}` : ` (exit ${res.status})`}\n${out}`);
}
rmSync(errorFile, { force: true });
writeFileSync(stampFile, `${want}\n`);
log(`built ${binary}`);
