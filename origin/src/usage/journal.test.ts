import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UsageRecord } from '#shared/usage.ts';
import type { JournalRow, JournalStore, UsageMeta } from '../ports.ts';
import { createUsageJournal, type UsageJournal } from './journal.ts';
import { createMemoryJournalStore } from './journal-store.ts';
import { createMemoryOutbox } from './outbox.ts';
import { createUsageTracker } from './tracker.ts';

const meta = (id: string): UsageMeta => ({
  requestId: id,
  replicaId: 'rep-1',
  tenantId: 't',
  keyId: 'k',
  model: 'm',
  revision: 'rev',
  endpoint: 'chat.completions',
});

/** A memory store that also records every write (rows and durability) and can be made to fail. */
function spyStore() {
  const outbox = createMemoryOutbox();
  const inner = createMemoryJournalStore(outbox);
  const writes: { rows: JournalRow[] }[] = [];
  let failing = false;
  const store: JournalStore = {
    async write(rows) {
      if (failing) throw new Error('disk full');
      writes.push({ rows: rows.map((r) => ({ ...r })) });
      await inner.write(rows);
    },
    complete: (rec) => inner.complete(rec),
    recover: (f) => inner.recover(f),
  };
  return { store, inner, outbox, writes, fail: (on: boolean) => (failing = on) };
}

const journals: UsageJournal[] = [];
function journal(store: JournalStore, extra: Partial<Parameters<typeof createUsageJournal>[0]> = {}) {
  let now = 10_000;
  const j = createUsageJournal({ store, now: () => now, sweepMs: 0, checkpointMs: 60_000, maxUncheckpointedTokens: 4, ...extra });
  journals.push(j);
  return { j, advance: (ms: number) => (now += ms) };
}
afterEach(async () => {
  vi.useRealTimers();
  for (const j of journals.splice(0)) await j.close();
});

/** A run as request-run.ts drives it: tracker + journal handle. */
function run(j: UsageJournal, id: string, now = () => 10_000) {
  const tracker = createUsageTracker(meta(id), now);
  const handle = j.begin(meta(id), tracker.startedAt, tracker.tokens);
  return { tracker, handle };
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('usage journal', () => {
  it('writes the rows of runs admitted in the same turn in one transaction', async () => {
    const s = spyStore();
    const { j } = journal(s.store);
    const a = run(j, 'a');
    const b = run(j, 'b');
    a.tracker.observe({ type: 'start', promptTokens: 9, cachedTokens: 2 });
    a.handle.admitted();
    b.tracker.observe({ type: 'start', promptTokens: 5, cachedTokens: 0 });
    b.handle.admitted();
    await tick();
    expect(s.writes).toHaveLength(1);
    expect(s.inner.rows.map((r) => [r.requestId, r.promptTokens, r.cachedTokens, r.completionTokens])).toEqual([
      ['a', 9, 2, 0],
      ['b', 5, 0, 0],
    ]);
  });

  it('holds the first token until the row is stored, then lags the client by at most the bound', async () => {
    const s = spyStore();
    const { j } = journal(s.store);
    const { tracker, handle } = run(j, 'r');
    tracker.observe({ type: 'start', promptTokens: 7, cachedTokens: 0 });
    let received = 0;
    const gate = handle.deliver(1, () => (received += 1));
    // Not handed out before the row (with the prompt tokens) is stored.
    expect(gate).toBeInstanceOf(Promise);
    expect(received).toBe(0);
    await gate;
    expect(received).toBe(1);
    expect(s.inner.rows[0]).toMatchObject({ promptTokens: 7, completionTokens: 0 });
    // Delta sizes as a stop-string hold-back produces them: mostly 1, sometimes several at once.
    for (const n of [1, 1, 1, 1, 3, 1, 2, 1, 1, 1, 4, 1, 1]) {
      const g = handle.deliver(n, () => (received += n));
      if (g) await g;
      const stored = s.inner.rows[0]!.completionTokens;
      expect(stored).toBeLessThanOrEqual(received);
      expect(received - stored).toBeLessThanOrEqual(4);
    }
    expect(s.writes.length).toBeLessThan(10);
  });

  it('replaces the row with the final record and wakes the deliverer', async () => {
    const s = spyStore();
    const woken: number[] = [];
    const { j } = journal(s.store, { onAppended: () => woken.push(1) });
    const { tracker, handle } = run(j, 'f');
    tracker.observe({ type: 'start', promptTokens: 3, cachedTokens: 0 });
    await handle.deliver(1, () => {});
    expect(s.inner.rows).toHaveLength(1);
    tracker.observe({ type: 'finish', reason: 'stop', usage: { promptTokens: 3, completionTokens: 1, cachedTokens: 0 } });
    await handle.complete(tracker.finalize('finish')!);
    expect(s.inner.rows).toHaveLength(0);
    expect(s.outbox.all.map((e) => [e.record.request_id, e.record.outcome])).toEqual([['f', 'finish']]);
    expect(woken).toHaveLength(1);
    // A completed run is never written back by a later checkpoint.
    await j.checkpoint();
    expect(s.inner.rows).toHaveLength(0);
    expect(j.stats().running).toBe(0);
  });

  it('a run refused before it was ever stored goes straight to the outbox', async () => {
    const s = spyStore();
    const { j } = journal(s.store);
    const { tracker, handle } = run(j, 'refused');
    await handle.complete(tracker.finalize('error')!);
    expect(s.writes).toHaveLength(0);
    expect(s.outbox.all.map((e) => e.record.request_id)).toEqual(['refused']);
  });

  it('checkpoints running requests on its timer, and only rows that changed', async () => {
    vi.useFakeTimers();
    const s = spyStore();
    const { j } = journal(s.store, { checkpointMs: 250 });
    const quiet = run(j, 'quiet');
    const busy = run(j, 'busy');
    quiet.tracker.observe({ type: 'start', promptTokens: 2, cachedTokens: 0 });
    busy.tracker.observe({ type: 'start', promptTokens: 2, cachedTokens: 0 });
    await vi.advanceTimersByTimeAsync(250);
    expect(s.writes.map((w) => w.rows.length)).toEqual([2]);
    busy.handle.deliver(1, () => {});
    await vi.advanceTimersByTimeAsync(250);
    expect(s.writes.map((w) => w.rows.map((r) => r.requestId))).toEqual([['quiet', 'busy'], ['busy']]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.writes).toHaveLength(2);
  });

  it('bills nothing for a dead request that had handed out no token (the edge may have failed it over)', async () => {
    const outbox = createMemoryOutbox();
    const row = (requestId: string, completionTokens: number): JournalRow => ({
      replicaId: 'rep-0',
      requestId,
      tenantId: 't',
      keyId: 'k',
      model: 'm',
      revision: 'rev',
      endpoint: 'chat.completions',
      promptTokens: 11,
      cachedTokens: 4,
      completionTokens,
      startedAt: 5_000,
      checkpointedAt: 6_500,
    });
    const { j } = journal(createMemoryJournalStore(outbox, [row('json-cut', 0), row('stream-cut', 3)]));
    expect(await j.recover()).toBe(2);
    expect(outbox.all.map((e) => [e.record.request_id, e.record.outcome, e.record.prompt_tokens, e.record.cached_tokens, e.record.completion_tokens])).toEqual([
      ['json-cut', 'error', 0, 0, 0],
      ['stream-cut', 'error', 11, 4, 3],
    ]);
  });

  it('finalizes rows a dead process left as outcome error with their checkpointed counts', async () => {
    const outbox = createMemoryOutbox();
    const left: JournalRow = {
      replicaId: 'rep-0',
      requestId: 'dead-1',
      tenantId: 't',
      keyId: 'k',
      model: 'm',
      revision: 'rev',
      endpoint: 'completions',
      promptTokens: 11,
      cachedTokens: 20,
      completionTokens: 37,
      startedAt: 5_000,
      checkpointedAt: 6_500,
    };
    const store = createMemoryJournalStore(outbox, [left]);
    const woken: number[] = [];
    const { j } = journal(store, { onAppended: () => woken.push(1) });
    const mine = run(j, 'alive');
    mine.tracker.observe({ type: 'start', promptTokens: 1, cachedTokens: 0 });
    await j.checkpoint();
    expect(await j.recover()).toBe(1);
    const rec: UsageRecord = outbox.all[0]!.record;
    expect(rec).toEqual({
      request_id: 'dead-1',
      replica_id: 'rep-0',
      tenant_id: 't',
      key_id: 'k',
      model: 'm',
      revision: 'rev',
      endpoint: 'completions',
      prompt_tokens: 11,
      cached_tokens: 11,
      completion_tokens: 37,
      outcome: 'error',
      started_at: 5_000,
      finished_at: 6_500,
    });
    // This process's own running request is not touched; a second pass finds nothing.
    expect(store.rows.map((r) => r.requestId)).toEqual(['alive']);
    expect(await j.recover()).toBe(0);
    expect(woken).toHaveLength(1);
    expect(j.stats().recovered).toBe(1);
  });

  it('keeps streaming when the store fails, logs once, and catches up when it recovers', async () => {
    const s = spyStore();
    const logs: string[] = [];
    const { j } = journal(s.store, { log: (l) => logs.push(l) });
    const { tracker, handle } = run(j, 'x');
    tracker.observe({ type: 'start', promptTokens: 4, cachedTokens: 0 });
    s.fail(true);
    let received = 0;
    for (let i = 0; i < 10; i++) {
      const g = handle.deliver(1, () => received++);
      if (g) await g;
    }
    expect(received).toBe(10);
    expect(j.stats().failures).toBe(1); // no retry per token while failing
    expect(logs.filter((l) => /journal write failed/.test(l))).toHaveLength(1);
    s.fail(false);
    await j.checkpoint();
    expect(s.inner.rows[0]).toMatchObject({ promptTokens: 4, completionTokens: 10 });
    expect(logs.some((l) => /recovered/.test(l))).toBe(true);
  });

  it.each([
    ['a zero bound', { maxUncheckpointedTokens: 0 }],
    ['a fractional bound', { maxUncheckpointedTokens: 1.5 }],
    ['a zero checkpoint interval', { checkpointMs: 0 }],
    ['a negative sweep interval', { sweepMs: -1 }],
  ])('rejects %s at creation', (_name, bad) => {
    const s = spyStore();
    expect(() => createUsageJournal({ store: s.store, now: () => 0, ...bad })).toThrow(/usage journal/);
  });
});
