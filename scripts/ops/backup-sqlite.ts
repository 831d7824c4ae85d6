/**
 * `npm run ops:backup -- --out <dir> <data dir>…`: a consistent copy of every SQLite store
 * (`*.sqlite`) directly under the given data directories, taken with SQLite's online backup API
 * while the edge and the origins keep running. The stores run in WAL mode, so the backup's reads
 * never block their writes; each copy is then opened and checked with `PRAGMA integrity_check`.
 * Copies land in `<out>/<data dir name>/<file>`. Restoring is the reverse with the service
 * stopped: copy the file back and delete its `-wal` and `-shm` companions (infra/appliance/README.md).
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Database } from '#shared/adapters/node/sqlite-driver.ts';
import { isEntryPoint } from '../../edge/src/adapters/node/entry-point.ts';

export interface BackedUpStore {
  source: string;
  copy: string;
  bytes: number;
}

/** The SQLite stores of one data directory: its `*.sqlite` files (not their -wal/-shm companions). */
export function storesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sqlite'))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * Back up every store under `dirs` into `outDir`, one sub-directory per data directory (named
 * after it, so two data dirs with the same name are refused rather than overwriting each other).
 * Throws naming the store when a copy fails its integrity check.
 */
export async function backupStores(dirs: string[], outDir: string): Promise<BackedUpStore[]> {
  const names = dirs.map((d) => basename(resolve(d)));
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`two data directories are named ${dup}: back them up into separate --out directories`);
  const done: BackedUpStore[] = [];
  for (const [i, dir] of dirs.entries()) {
    const target = join(outDir, names[i]!);
    mkdirSync(target, { recursive: true });
    for (const source of storesIn(dir)) {
      const copy = join(target, basename(source));
      // Not readonly: a read-only connection cannot open a WAL store whose -shm file is missing
      // (a stopped service). fileMustExist: a typo must not create an empty store and "back it up".
      const db = new Database(source, { fileMustExist: true });
      try {
        await db.backup(copy);
      } finally {
        db.close();
      }
      const check = new Database(copy, { readonly: true });
      try {
        const result = check.pragma('integrity_check', { simple: true });
        if (result !== 'ok') throw new Error(`backup of ${source} failed its integrity check: ${String(result)}`);
      } finally {
        check.close();
      }
      done.push({ source, copy, bytes: statSync(copy).size });
    }
  }
  return done;
}

const USAGE = 'usage: npm run ops:backup -- --out <backup dir> <data dir> [<data dir> …]';

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: { out: { type: 'string' }; help: { type: 'boolean' } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: { out: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!parsed.values.out || parsed.positionals.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const stores = await backupStores(parsed.positionals, parsed.values.out);
  for (const s of stores) process.stdout.write(`${s.source} → ${s.copy} (${s.bytes} bytes, integrity ok)\n`);
  if (stores.length === 0) process.stderr.write('no *.sqlite stores found in the given directories\n');
  return stores.length === 0 ? 1 : 0;
}

if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`backup failed: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
