/**
 * The crash journal as the origin app drives it (request-run.ts, engine-response.ts), in-process with
 * the scripted test engine: what a crash at any moment would bill versus what the client holds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createOriginApp } from '../server/app.ts';
import { eventually, type Script, ScriptedTestEngine, signedRequest, testOrigin } from '../server/test-helpers.ts';
import { createUsageJournal, type UsageJournal } from './journal.ts';
import { createMemoryJournalStore } from './journal-store.ts';
import { createMemoryOutbox } from './outbox.ts';

const BOUND = 4;
const journals: UsageJournal[] = [];
afterEach(async () => {
  for (const j of journals.splice(0)) await j.close();
});

/** The app with a journal over memory stores; every 5th piece is held back (empty text). */
function setup(hangAfter: number, pieces = 40) {
  const script: Script = {
    promptTokens: 6,
    pieces: Array.from({ length: pieces }, (_, i) => ({ text: i % 5 === 3 ? '' : `<${i}>` })),
    hangAfter,
  };
  const engine = new ScriptedTestEngine(() => script);
  const base = testOrigin(engine);
  const outbox = createMemoryOutbox();
  const store = createMemoryJournalStore(outbox);
  const journal = createUsageJournal({ store, now: () => Date.now(), maxUncheckpointedTokens: BOUND, checkpointMs: 60_000, sweepMs: 0 });
  journals.push(journal);
  const app = createOriginApp({ ...base.deps, usage: journal });
  return { app, engine, store, outbox, journal };
}

/** Tokens whose text the client holds: pieces up to the last `<i>` received. */
const tokensHeld = (text: string) => {
  const all = [...text.matchAll(/<(\d+)>/g)];
  return all.length ? Number(all.at(-1)![1]) + 1 : 0;
};

describe('crash journal through the origin app', () => {
  it('a stream never has more stored than the client holds, nor more than the bound less', async () => {
    const { app, store, outbox } = setup(30);
    const res = await app.request(
      await signedRequest('/v1/chat/completions', {
        requestId: 'j-stream',
        body: { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }], stream: true },
      }),
    );
    expect(res.status).toBe(200);
    // Read the body itself (no decoder stream in between, which would pull a chunk ahead).
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // Read chunk by chunk and compare with the stored row at every step.
    while (tokensHeld(text) < 30) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended early');
      text += decoder.decode(value, { stream: true });
      // A slow client: the pump runs ahead and queues the rest while this one is not reading.
      if (tokensHeld(text) === 1) await new Promise((r) => setTimeout(r, 30));
      const held = tokensHeld(text);
      const row = store.rows.find((r) => r.requestId === 'j-stream');
      if (held > 0) {
        expect(row).toBeDefined();
        expect(row!.promptTokens).toBe(6);
        expect(row!.completionTokens).toBeLessThanOrEqual(held);
        expect(row!.completionTokens).toBeGreaterThanOrEqual(held - BOUND);
      }
    }
    // The engine hangs after 30 tokens: the client gives up, the abort record replaces the row.
    await reader.cancel();
    await eventually(() => outbox.all.length === 1);
    expect(store.rows).toEqual([]);
    expect(outbox.all[0]!.record).toMatchObject({ request_id: 'j-stream', outcome: 'abort', prompt_tokens: 6, completion_tokens: 30 });
  });

  it('a JSON request is journaled with its prompt and no completion until its final record', async () => {
    const { app, store, outbox, journal, engine } = setup(12, 20);
    const ac = new AbortController();
    const pending = app.request(await signedRequest('/v1/completions', { requestId: 'j-json', body: { model: 'motif-test', prompt: 'x' }, signal: ac.signal }));
    await eventually(() => engine.running === 1);
    await journal.checkpoint();
    await eventually(() => store.rows.length === 1);
    // Nothing of a JSON body reaches the client before the end: a crash now bills no completion.
    expect(store.rows[0]).toMatchObject({ requestId: 'j-json', promptTokens: 6, completionTokens: 0 });
    ac.abort();
    await Promise.resolve(pending).catch(() => {});
    await eventually(() => outbox.all.length === 1);
    expect(store.rows).toEqual([]);
    expect(outbox.all[0]!.record).toMatchObject({ request_id: 'j-json', outcome: 'abort', completion_tokens: 12 });
  });

  it('a stream that finishes leaves only its finish record', async () => {
    const { app, store, outbox } = setup(-1, 25);
    const res = await app.request(await signedRequest('/v1/completions', { requestId: 'j-done', body: { model: 'motif-test', prompt: 'x', stream: true } }));
    const text = await res.text();
    expect(text).toContain('[DONE]');
    expect(store.rows).toEqual([]);
    expect(outbox.all.map((e) => [e.record.request_id, e.record.outcome, e.record.completion_tokens])).toEqual([['j-done', 'finish', 25]]);
  });
});
