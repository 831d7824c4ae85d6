import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { openSqlite } from './sqlite.ts';
import { BACKSTOP_PAGES, startWalCheckpointer } from './wal-checkpointer.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Write ~4 MB in 1,000 commits: far past SQLite's default checkpoint threshold of 1,000 pages. */
function fill(file: string) {
  const h = openSqlite(file, { synchronous: 'NORMAL', autoCheckpointPages: BACKSTOP_PAGES });
  h.db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
  for (let i = 0; i < 1000; i++) h.db.run('INSERT INTO t (v) VALUES (randomblob(4000))');
  return h;
}

it('the edge connection leaves checkpoints to the worker, which copies the log into the database file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'motif-ckpt-'));
  dirs.push(dir);
  const file = join(dir, 'a.sqlite');
  const h = fill(file);
  // The commits did not checkpoint: the pages are still only in the WAL.
  expect(statSync(file).size).toBeLessThan(64 * 1024);
  const errors: string[] = [];
  const ckpt = startWalCheckpointer([file], { intervalMs: 20, onError: (_f, m) => errors.push(m) });
  for (let i = 0; i < 250 && statSync(file).size < 4_000_000; i++) await sleep(20);
  expect(statSync(file).size).toBeGreaterThanOrEqual(4_000_000);
  // The edge keeps writing and reading beside the worker's checkpoints.
  h.db.run('INSERT INTO t (v) VALUES (randomblob(10))');
  expect(h.db.all<{ n: number }>('SELECT count(*) AS n FROM t')[0]?.n).toBe(1001);
  await ckpt.close();
  h.close();
  expect(errors).toEqual([]);
});

it('a file that cannot be opened is reported once and retried, while the other files are checkpointed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'motif-ckpt-'));
  dirs.push(dir);
  const errors: string[] = [];
  const file = join(dir, 'b.sqlite');
  const h = fill(file);
  const ckpt = startWalCheckpointer([join(dir, 'missing.sqlite'), file], { intervalMs: 20, onError: (_f, m) => errors.push(m) });
  for (let i = 0; i < 250 && statSync(file).size < 4_000_000; i++) await sleep(20);
  expect(statSync(file).size).toBeGreaterThanOrEqual(4_000_000);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/unable to open|does not exist|no such file/i);
  await ckpt.close();
  h.close();
});

it('refuses a nonsensical interval', () => {
  expect(() => startWalCheckpointer([], { intervalMs: 0 })).toThrow(/intervalMs/);
});
