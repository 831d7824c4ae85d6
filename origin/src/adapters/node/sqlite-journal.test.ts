import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JournalRow } from '../../ports.ts';
import { recoveredRecord } from '../../usage/journal-store.ts';
import { openSqliteUsageStore, type SqliteUsageStore } from './sqlite-journal.ts';
import { acquireOwnerLock } from './sqlite-journal-owners.ts';
import { usageRecord } from './test-support.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'motif-journal-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
function open(file: string): SqliteUsageStore {
  const s = openSqliteUsageStore({ file });
  cleanups.push(() => {
    try {
      s.close();
    } catch {
      // closed by the test
    }
  });
  return s;
}

const row = (id: string, extra: Partial<JournalRow> = {}): JournalRow => ({
  replicaId: 'replica-1',
  requestId: id,
  tenantId: 'tenant-a',
  keyId: 'key-1',
  model: 'motif-test',
  revision: 'rev1',
  endpoint: 'chat.completions',
  promptTokens: 5,
  cachedTokens: 0,
  completionTokens: 0,
  startedAt: 1_000,
  checkpointedAt: 1_000,
  ...extra,
});
const ids = async (s: SqliteUsageStore) => (await s.pending(100)).map((e) => [e.record.request_id, e.record.outcome, e.record.completion_tokens]);

describe('SQLite usage journal', () => {
  it('the final record replaces the row in one step; a second record for the key is refused', async () => {
    const s = open(':memory:');
    await s.journal.write([row('a'), row('b')]);
    await s.journal.write([row('a', { completionTokens: 12, checkpointedAt: 1_500 })]);
    expect(await s.journal.complete(usageRecord('a', { completion_tokens: 14 }))).toBe(true);
    expect(await s.journal.complete(usageRecord('a', { completion_tokens: 99 }))).toBe(false);
    expect(await ids(s)).toEqual([['a', 'finish', 14]]);
    // 'b' is still running: this process's own rows are never recovered.
    expect(await s.journal.recover(recoveredRecord)).toEqual([]);
  });

  it('after a restart, finalizes what the dead process left, with its last checkpoint, once', async () => {
    const file = join(tempDir(), 'usage.sqlite');
    const first = open(file);
    await first.journal.write([row('run-1'), row('run-2', { promptTokens: 8 })]);
    await first.journal.write([row('run-1', { completionTokens: 30, checkpointedAt: 4_000 })]);
    await first.journal.complete(usageRecord('done'));
    first.close(); // the lock goes away as it does when the process dies

    const second = open(file);
    const recs = await second.journal.recover(recoveredRecord);
    expect(recs.map((r) => [r.request_id, r.outcome, r.prompt_tokens, r.completion_tokens, r.finished_at])).toEqual([
      ['run-1', 'error', 5, 30, 4_000],
      // Nothing handed out: recorded, not billed (see recoveredRecord).
      ['run-2', 'error', 0, 0, 1_000],
    ]);
    expect(await ids(second)).toEqual([
      ['done', 'finish', 7],
      ['run-1', 'error', 30],
      ['run-2', 'error', 0],
    ]);
    expect(await second.journal.recover(recoveredRecord)).toEqual([]);
    second.close();
    // Survives another restart: nothing is finalized twice, nothing is lost.
    const third = open(file);
    expect(await third.journal.recover(recoveredRecord)).toEqual([]);
    expect((await ids(third)).length).toBe(3);
  });

  it('leaves the rows of a live sibling process alone, and takes them once it is gone', async () => {
    const file = join(tempDir(), 'usage.sqlite');
    const sibling = open(file);
    const me = open(file);
    expect(sibling.owner).not.toBe(me.owner);
    await sibling.journal.write([row('theirs')]);
    expect(await me.journal.recover(recoveredRecord)).toEqual([]);
    expect(await sibling.journal.complete(usageRecord('theirs', { completion_tokens: 3 }))).toBe(true);
    await sibling.journal.write([row('theirs-2')]);
    sibling.close();
    expect((await me.journal.recover(recoveredRecord)).map((r) => r.request_id)).toEqual(['theirs-2']);
    expect(await ids(me)).toEqual([
      ['theirs', 'finish', 3],
      ['theirs-2', 'error', 0],
    ]);
  });

  it('drops a row no record can be built from instead of blocking every later recovery', async () => {
    const file = join(tempDir(), 'usage.sqlite');
    const first = open(file);
    await first.journal.write([row('bad', { tenantId: '' }), row('good')]);
    first.close();
    const logs: string[] = [];
    const second = openSqliteUsageStore({ file, log: (l) => logs.push(l) });
    cleanups.push(() => second.close());
    expect((await second.journal.recover(recoveredRecord)).map((r) => r.request_id)).toEqual(['good']);
    expect(logs.join('\n')).toMatch(/dropping unreadable journal row bad/);
    expect(await second.journal.recover(recoveredRecord)).toEqual([]);
  });
});

describe('journal owner locks', () => {
  it('tell a live writer from an abandoned lock file, and sweep only abandoned files', () => {
    const dir = tempDir();
    const live = acquireOwnerLock(dir);
    const me = acquireOwnerLock(dir);
    cleanups.push(() => {
      live.release();
      me.release();
    });
    // A lock file nobody holds: what kill -9 leaves behind.
    const dead = randomUUID();
    copyFileSync(join(dir, `${live.self}.lock`), join(dir, `${dead}.lock`));
    expect(me.isGone(live.self)).toBe(false);
    expect(me.isGone(me.self)).toBe(false);
    expect(me.isGone(dead)).toBe(true);
    expect(me.isGone(randomUUID())).toBe(true); // no file at all: released cleanly
    expect(me.isGone('not-an-owner-id')).toBe(true);
    me.sweep();
    expect(readdirSync(dir).sort()).toEqual([`${live.self}.lock`, `${me.self}.lock`].sort());
    live.release();
    expect(existsSync(join(dir, `${live.self}.lock`))).toBe(false);
    expect(me.isGone(live.self)).toBe(true);
  });
});
