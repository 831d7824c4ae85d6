import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { usageRecord } from '../../testing/harness.ts';
import { durableLedger, fileSyncer, LEDGER_SLICE_RECORDS } from './durable-ledger.ts';
import { openSqlite } from './sqlite.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempFile = () => {
  const d = mkdtempSync(join(tmpdir(), 'motif-durable-ledger-'));
  dirs.push(d);
  return join(d, 'edge.sqlite');
};

describe('durableLedger', () => {
  it('acknowledges a batch once it is committed and its WAL synced; another connection (a restarted edge) reads it', async () => {
    const file = tempFile();
    const conn = openSqlite(file, { synchronous: 'NORMAL' });
    const ledger = durableLedger(conn.db, file);
    const [a, b] = await Promise.all([
      ledger.insert([usageRecord({ request_id: 'r1' })], 1),
      ledger.insert([usageRecord({ request_id: 'r2' }), usageRecord({ request_id: 'r1' })], 2),
    ]);
    expect(a).toEqual({ accepted: 1, duplicates: 0 });
    expect(b).toEqual({ accepted: 1, duplicates: 1 });
    await ledger.close();
    conn.close();
    const again = openSqlite(file);
    expect(again.db.all('SELECT request_id FROM usage_records ORDER BY request_id')).toEqual([{ request_id: 'r1' }, { request_id: 'r2' }]);
    again.close();
  });

  it('inserts a large batch in slices, serving other work between them; a redelivery is all duplicates', async () => {
    const file = tempFile();
    const conn = openSqlite(file, { synchronous: 'NORMAL' });
    const ledger = durableLedger(conn.db, file);
    const records = Array.from({ length: 8 * LEDGER_SLICE_RECORDS }, (_, i) => usageRecord({ request_id: `r${i}` }));
    const count = () => conn.db.all<{ n: number }>('SELECT count(*) AS n FROM usage_records')[0]!.n;
    const seen: number[] = [];
    let done = false;
    const tick = () => {
      seen.push(count());
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    expect(await ledger.insert(records, 1)).toEqual({ accepted: records.length, duplicates: 0 });
    done = true;
    // Other callbacks ran while the batch was part-way in: the loop was not held for all of it.
    expect(seen.filter((n) => n > 0 && n < records.length).length).toBeGreaterThanOrEqual(3);
    expect(await ledger.insert(records, 2)).toEqual({ accepted: 0, duplicates: records.length });
    await ledger.close();
    conn.close();
  });

  it('does not acknowledge when the sync fails: a retryable 503 and the origin delivers again', async () => {
    const file = tempFile();
    const conn = openSqlite(file, { synchronous: 'NORMAL' });
    // A ledger whose WAL is elsewhere than it thinks: the sync cannot open the file.
    const ledger = durableLedger(conn.db, join(file, 'missing', 'edge.sqlite'));
    await expect(ledger.insert([usageRecord({ request_id: 'r1' })], 1)).rejects.toMatchObject({ code: 'storage_unavailable', status: 503 });
    await ledger.close();
    conn.close();
  });
});

describe('fileSyncer', () => {
  it('a sync that failed (the file was not there yet) does not fail the next one', async () => {
    const file = tempFile();
    const syncer = fileSyncer(file);
    await expect(syncer.sync()).rejects.toMatchObject({ code: 'ENOENT' });
    const conn = openSqlite(file);
    await expect(syncer.sync()).resolves.toBeUndefined();
    await syncer.close();
    conn.close();
  });

  it('callers arriving while an fsync runs share the next one, and every call resolves', async () => {
    const file = tempFile();
    const conn = openSqlite(file);
    conn.db.run('CREATE TABLE t (v INTEGER)');
    const syncer = fileSyncer(file);
    const calls = Array.from({ length: 10 }, () => syncer.sync());
    await expect(Promise.all(calls)).resolves.toHaveLength(10);
    // Two distinct promises at most: the one running and the one queued behind it.
    expect(new Set(calls.slice(1)).size).toBe(1);
    await syncer.close();
    conn.close();
  });
});
