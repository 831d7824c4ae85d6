import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteOutbox } from './sqlite-outbox.ts';
import { usageRecord } from './test-support.ts';

const dirs: string[] = [];
const tempFile = () => {
  const d = mkdtempSync(join(tmpdir(), 'motif-outbox-'));
  dirs.push(d);
  return join(d, 'nested', 'usage.db');
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SQLite usage outbox', () => {
  it('returns pending records oldest first, marks delivered ones, ignores duplicates', async () => {
    const box = openSqliteOutbox({ file: ':memory:' });
    await box.append(usageRecord('a'));
    await box.append(usageRecord('b', { completion_tokens: 1 }));
    await box.append(usageRecord('a', { completion_tokens: 999 })); // same key: first one wins
    const pending = await box.pending(10);
    expect(pending.map((e) => [e.record.request_id, e.record.completion_tokens])).toEqual([
      ['a', 7],
      ['b', 1],
    ]);
    await box.markDelivered([pending[0]!.id, 12345]);
    expect((await box.pending(10)).map((e) => e.record.request_id)).toEqual(['b']);
    expect(box.backlog()).toBe(1);
    expect(await box.pending(0)).toEqual([]);
    box.close();
  });

  it('keeps undelivered records across a close and reopen (a process restart)', async () => {
    const file = tempFile();
    const first = openSqliteOutbox({ file });
    await first.append(usageRecord('x'));
    await first.append(usageRecord('y'));
    await first.markDelivered([(await first.pending(1))[0]!.id]);
    first.close();
    const second = openSqliteOutbox({ file });
    expect((await second.pending(10)).map((e) => e.record)).toEqual([usageRecord('y')]);
    second.close();
  });

  it('prunes delivered rows after the retention period', async () => {
    let now = 1_000_000;
    const box = openSqliteOutbox({ file: ':memory:', retentionMs: 100, now: () => now });
    await box.append(usageRecord('old'));
    await box.markDelivered((await box.pending(1)).map((e) => e.id));
    now += 1_000;
    await box.append(usageRecord('new'));
    await box.markDelivered((await box.pending(1)).map((e) => e.id));
    // 'old' was pruned, so appending it again is accepted as a new row.
    await box.append(usageRecord('old'));
    expect((await box.pending(10)).map((e) => e.record.request_id)).toEqual(['old']);
    box.close();
  });

  it('refuses an invalid record instead of storing it', async () => {
    const box = openSqliteOutbox({ file: ':memory:' });
    await expect(box.append({ ...usageRecord('z'), prompt_tokens: -1 })).rejects.toThrow();
    expect(box.backlog()).toBe(0);
    box.close();
  });
});
