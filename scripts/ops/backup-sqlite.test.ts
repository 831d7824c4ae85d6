import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Database, type SqliteDatabase } from '#shared/adapters/node/sqlite-driver.ts';
import { backupStores, storesIn } from './backup-sqlite.ts';

const dirs: string[] = [];
function tempDir(name = 'motif-backup-'): string {
  const d = mkdtempSync(join(tmpdir(), name));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A store as the services keep it: WAL mode, a connection that stays open and writes. */
function liveStore(dir: string, name: string, rows: number): SqliteDatabase {
  const db = new Database(join(dir, name));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE ledger (id INTEGER PRIMARY KEY, tokens INTEGER)');
  const insert = db.prepare('INSERT INTO ledger (tokens) VALUES (?)');
  for (let i = 0; i < rows; i++) insert.run(i);
  return db;
}

describe('backupStores', () => {
  it('copies every *.sqlite of each data dir while a writer keeps its connection open, WAL content included', async () => {
    const edge = join(tempDir(), 'edge');
    const origin = join(tempDir(), 'origin-0');
    for (const d of [edge, origin]) mkdirSync(d);
    const ledger = liveStore(edge, 'edge.sqlite', 500);
    const outbox = liveStore(origin, 'usage-outbox.sqlite', 3);
    try {
      // Still in the WAL, not checkpointed into the main file: the copy must carry it.
      ledger.prepare('INSERT INTO ledger (tokens) VALUES (?)').run(42);
      const out = tempDir();
      const copies = await backupStores([edge, origin], out);
      expect(copies.map((c) => c.copy)).toEqual([join(out, 'edge', 'edge.sqlite'), join(out, 'origin-0', 'usage-outbox.sqlite')]);
      const copy = new Database(copies[0]!.copy, { readonly: true });
      expect(copy.prepare('SELECT count(*) AS n, max(tokens) AS top FROM ledger').get()).toEqual({ n: 501, top: 499 });
      copy.close();
      // The service went on writing during and after the backup.
      ledger.prepare('INSERT INTO ledger (tokens) VALUES (?)').run(7);
    } finally {
      ledger.close();
      outbox.close();
    }
  });

  it('lists stores, not their -wal/-shm companions', () => {
    const dir = tempDir();
    const db = liveStore(dir, 'a.sqlite', 1);
    expect(storesIn(dir)).toEqual([join(dir, 'a.sqlite')]);
    db.close();
  });

  it('refuses two data dirs with the same name instead of overwriting one with the other', async () => {
    const a = join(tempDir(), 'origin');
    const b = join(tempDir(), 'origin');
    for (const d of [a, b]) mkdirSync(d);
    await expect(backupStores([a, b], tempDir())).rejects.toThrow(/two data directories are named origin/);
  });
});
