/**
 * A usage store that cannot be written (disk full): the record of a request already served is
 * held and delivered, never lost; new requests are refused until the store takes writes again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createOriginApp } from '../server/app.ts';
import { type Script, ScriptedTestEngine, signedRequest, testOrigin } from '../server/test-helpers.ts';
import { holdRecordsOnFailure, type UsageStoreParts } from './held-records.ts';
import { createUsageJournal, type UsageJournal } from './journal.ts';
import { createMemoryJournalStore } from './journal-store.ts';
import { createMemoryOutbox } from './outbox.ts';

/** A memory store whose writes fail while `full` is set, like SQLite on a full disk. */
function fillableStore() {
  const outbox = createMemoryOutbox();
  const inner = createMemoryJournalStore(outbox);
  const state = { full: false, probes: 0 };
  const fail = () => {
    if (state.full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  };
  const parts: UsageStoreParts = {
    journal: {
      async write(rows) {
        fail();
        await inner.write(rows);
      },
      async complete(rec) {
        fail();
        return inner.complete(rec);
      },
      recover: (f) => inner.recover(f),
    },
    outbox,
    async probe() {
      state.probes++;
      fail();
    },
  };
  return { parts, outbox, state };
}

const journals: UsageJournal[] = [];
afterEach(async () => {
  for (const j of journals.splice(0)) await j.close();
});

function setup() {
  const { parts, outbox, state } = fillableStore();
  const held = holdRecordsOnFailure(parts, { retryMs: 60_000 });
  const script: Script = { promptTokens: 5, pieces: Array.from({ length: 6 }, (_, i) => ({ text: `<${i}>` })) };
  const base = testOrigin(new ScriptedTestEngine(() => script));
  const journal = createUsageJournal({ store: held.journal, now: () => Date.now(), sweepMs: 0, checkpointMs: 60_000 });
  journals.push(journal);
  const app = createOriginApp({ ...base.deps, usage: journal, usageWritable: () => held.writable() });
  const chat = async (requestId: string) =>
    app.request(
      await signedRequest('/v1/chat/completions', { requestId, body: { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }], stream: true } }),
    );
  return { held, outbox, state, chat };
}

describe('usage store full', () => {
  it('a request served while the store fails keeps its record (held, delivered from memory); later ones get a retryable 503', async () => {
    const { held, outbox, state, chat } = setup();
    state.full = true;
    const served = await chat('full-1');
    expect(served.status).toBe(200);
    expect(await served.text()).toContain('[DONE]');
    expect(held.writable()).toBe(false);
    // Not in the store, but pending for delivery.
    expect(outbox.all).toEqual([]);
    const pending = await held.outbox.pending(10);
    expect(pending.map((e) => [e.record.request_id, e.record.outcome, e.record.completion_tokens])).toEqual([['full-1', 'finish', 6]]);
    expect(held.undelivered()).toBe(1);

    const refused = await chat('full-2');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: { code: 'storage_unavailable' } });

    // The ledger acknowledged it: nothing left to deliver, still to be written once the disk frees.
    await held.outbox.markDelivered(pending.map((e) => e.id));
    expect(held.undelivered()).toBe(0);
    await held.retry();
    expect(held.writable()).toBe(false);

    state.full = false;
    await held.retry();
    expect(held.writable()).toBe(true);
    expect(outbox.all.map((e) => e.record.request_id)).toEqual(['full-1']);
    const after = await chat('full-3');
    expect(after.status).toBe(200);
    expect(await after.text()).toContain('[DONE]');
    expect(outbox.all.map((e) => e.record.request_id)).toEqual(['full-1', 'full-3']);
    expect((await held.outbox.pending(10)).map((e) => e.record.request_id)).toEqual(['full-1', 'full-3']);
    held.close();
  });

  it('a failed journal write alone also refuses new requests until a probe write succeeds', async () => {
    const { parts, state } = fillableStore();
    const held = holdRecordsOnFailure(parts, { retryMs: 60_000 });
    state.full = true;
    await expect(held.journal.write([])).rejects.toThrow(/disk is full/);
    expect(held.writable()).toBe(false);
    await held.retry();
    expect(state.probes).toBe(1);
    expect(held.writable()).toBe(false);
    state.full = false;
    await held.retry();
    expect(held.writable()).toBe(true);
    held.close();
  });
});
