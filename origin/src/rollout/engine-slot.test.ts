import { describe, expect, it } from 'vitest';
import { createOriginApp } from '../server/app.ts';
import { eventually, ScriptedTestEngine, signedRequest, sseEvents, testOrigin } from '../server/test-helpers.ts';
import { createEngineSlot } from './engine-slot.ts';
import { type EventLog, GatedEngine, settle } from './test-support.ts';

const loadedEngine = (rev: string, events: EventLog) => {
  const e = new GatedEngine(rev, events);
  e.loaded = true;
  return e;
};

describe('engine slot', () => {
  it('pins the engine current at pin time; retire waits for its pins, then drains and closes it', async () => {
    const events: EventLog = [];
    const a = loadedEngine('a', events);
    const b = loadedEngine('b', events);
    const slot = createEngineSlot(a);
    const pin = slot.pin();
    expect(slot.swap(b)).toBe(a);
    expect(slot.pin().engine).toBe(b);
    let retired = false;
    const done = slot.retire(a, 60_000).then((r) => {
      retired = true;
      return r;
    });
    await settle();
    expect(retired).toBe(false);
    pin.release();
    pin.release(); // idempotent: must not release someone else's pin
    expect(await done).toEqual({ cut: 0 });
    expect(events).toEqual(['drain a', 'close a']);
    expect(slot.pins(a)).toBe(0);
  });

  it('cuts requests still pinned when the timeout passes', async () => {
    const events: EventLog = [];
    const a = loadedEngine('a', events);
    const slot = createEngineSlot(a);
    slot.pin();
    slot.swap(loadedEngine('b', events));
    expect(await slot.retire(a, 10)).toEqual({ cut: 1 });
    expect(a.closed).toBe(true);
    // Without draining first: the drain would wait for the stuck request.
    expect(events).toEqual(['close a']);
  });

  it('facade: counters stay monotonic across a swap, load sums live engines', async () => {
    const events: EventLog = [];
    const a = loadedEngine('a', events);
    const b = loadedEngine('b', events);
    const slot = createEngineSlot(a);
    slot.swap(b);
    a.running = 2;
    b.running = 1;
    expect(slot.engine.stats()).toMatchObject({ running: 3, promptTokensTotal: 20, generationTokensTotal: 40, kvUsage: 0.5 });
    a.running = 0;
    await slot.retire(a, 1000);
    // a's totals are kept after it closed; only b is live.
    expect(slot.engine.stats()).toMatchObject({ running: 1, promptTokensTotal: 20, generationTokensTotal: 40 });
    expect(slot.engine.info().revision).toBe('b');
  });

  it('facade generate binds the engine current at the first next()', async () => {
    const events: EventLog = [];
    const a = loadedEngine('a', events);
    const slot = createEngineSlot(a);
    const req = {
      requestId: 'r',
      prompt: { kind: 'text' as const, text: 'x' },
      sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, presencePenalty: 0, frequencyPenalty: 0, repetitionPenalty: 1 },
      stop: [],
    };
    const it = slot.engine.generate(req, new AbortController().signal)[Symbol.asyncIterator]();
    slot.swap(loadedEngine('b', events));
    await it.next();
    expect(slot.pins(slot.current())).toBe(1);
    await it.return?.(undefined);
    expect(slot.pins(slot.current())).toBe(0);
  });
});

describe('the origin app over a slot', () => {
  const body = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }], stream: true };

  it('a request that started on the old revision finishes on it, with its fingerprint and usage; new ones get the new revision', async () => {
    const events: EventLog = [];
    const a = loadedEngine('a', events);
    const b = loadedEngine('b', events);
    const slot = createEngineSlot(a);
    const { deps, outbox } = testOrigin(new ScriptedTestEngine(() => ({ promptTokens: 1, pieces: [] })));
    const app = createOriginApp({ ...deps, engine: slot.engine, pinEngine: () => slot.pin() });

    const oldRes = await app.request(await signedRequest('/v1/chat/completions', { body, requestId: 'old-1' }));
    const oldEvents = sseEvents(oldRes);
    slot.swap(b);
    const retired = slot.retire(a, 60_000);
    const newRes = await app.request(await signedRequest('/v1/chat/completions', { body, requestId: 'new-1' }));
    const newEvents = sseEvents(newRes);
    await settle();
    expect(a.closed).toBe(false);
    a.finishAll();
    b.finishAll();
    const [o, n] = await Promise.all([oldEvents, newEvents]);
    const parse = (evs: typeof o) =>
      evs.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as { system_fingerprint: string; choices: { delta: { content?: string } }[] });
    expect(new Set(parse(o).map((c) => c.system_fingerprint))).toEqual(new Set(['fp_a']));
    expect(
      parse(o)
        .map((c) => c.choices[0]?.delta.content ?? '')
        .join(''),
    ).toBe('from a');
    expect(new Set(parse(n).map((c) => c.system_fingerprint))).toEqual(new Set(['fp_b']));
    expect(await retired).toEqual({ cut: 0 });
    expect(Object.fromEntries(outbox.all.map((e) => [e.record.request_id, e.record.revision]))).toEqual({ 'old-1': 'a', 'new-1': 'b' });

    const models = (await (await app.request(await signedRequest('/v1/models'))).json()) as { data: { system_fingerprint: string }[] };
    expect(models.data[0]?.system_fingerprint).toBe('fp_b');
  });

  it('a request queued for a slot across the swap runs on the engine it was pinned to', async () => {
    const events: EventLog = [];
    const a = loadedEngine('a', events);
    const b = loadedEngine('b', events);
    const slot = createEngineSlot(a);
    const { deps } = testOrigin(new ScriptedTestEngine(() => ({ promptTokens: 1, pieces: [] })), { maxConcurrent: 1 });
    const app = createOriginApp({ ...deps, engine: slot.engine, pinEngine: () => slot.pin() });
    const running = sseEvents(await app.request(await signedRequest('/v1/chat/completions', { body, requestId: 'run-1' })));
    // Waits in the admission queue (one slot, taken) while the engines are swapped.
    const queued = Promise.resolve(app.request(await signedRequest('/v1/chat/completions', { body, requestId: 'queued-1' }))).then(sseEvents);
    await eventually(() => slot.pins(a) === 2 && deps.admission.waiting === 1);
    slot.swap(b);
    const retired = slot.retire(a, 60_000);
    a.finishAll();
    await running;
    await eventually(() => a.running === 1);
    a.finishAll();
    const chunks = (await queued)
      .filter((e) => e.data !== '[DONE]')
      .map((e) => JSON.parse(e.data) as { system_fingerprint: string; choices: { delta: { content?: string } }[] });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('from a');
    expect(new Set(chunks.map((c) => c.system_fingerprint))).toEqual(new Set(['fp_a']));
    expect(await retired).toEqual({ cut: 0 });
  });
});
