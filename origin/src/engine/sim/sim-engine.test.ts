import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { DEFAULT_SAMPLING, type EngineEvent, type GenerateRequest } from '../types.ts';
import type { SimTuning } from './options.ts';
import { type SimClock, SimEngine } from './sim-engine.ts';

/**
 * Virtual time: every sleep moves the clock and returns on the next macrotask (consumers catch up
 * first, as they would in real time), so a test's minutes of model time take milliseconds.
 */
function fakeClock(): SimClock & { sleeps: number[] } {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

const SYSTEM = 'You are a helpful assistant who answers briefly. '.repeat(40); // ~2,000 bytes ≈ 500 tokens

function request(over: Partial<GenerateRequest> = {}, user = 'Hello there'): GenerateRequest {
  return {
    requestId: 'r',
    prompt: {
      kind: 'chat',
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: user },
      ],
    },
    maxTokens: 8,
    sampling: { ...DEFAULT_SAMPLING, temperature: 0 },
    stop: [],
    ignoreEos: true,
    ...over,
  };
}

function engine(tuning: SimTuning & { maxRunning?: number; maxQueue?: number; kvBudgetTokens?: number } = {}, clock = fakeClock()) {
  return { e: new SimEngine({ modelId: 'm', ...tuning }, { clock }), clock };
}

/** Run one request to its end; `at` holds the virtual time of each event. */
async function collect(e: SimEngine, clock: SimClock, req: GenerateRequest, signal = new AbortController().signal) {
  const events: EngineEvent[] = [];
  const at: number[] = [];
  const t0 = clock.now();
  for await (const ev of e.generate(req, signal)) {
    events.push(ev);
    at.push(clock.now());
  }
  const text = events.map((ev) => (ev.type === 'delta' ? ev.text : '')).join('');
  return { events, at, t0, text, last: events.at(-1)! };
}

describe('SimEngine', () => {
  it('refuses response_format with a 400 rather than answering with text that is not JSON', async () => {
    const { e } = engine();
    await expect(e.generate(request({ responseFormat: { type: 'json_object' } }), new AbortController().signal).next()).rejects.toMatchObject({
      status: 400,
      param: 'response_format',
    });
  });

  it('streams start, one delta per token, finish with exact usage', async () => {
    const { e, clock } = engine();
    const r = await collect(e, clock, request());
    expect(r.events[0]).toMatchObject({ type: 'start', cachedTokens: 0 });
    const promptTokens = (r.events[0] as { promptTokens: number }).promptTokens;
    expect(promptTokens).toBe(Math.ceil(new TextEncoder().encode(`system: ${SYSTEM}\nuser: Hello there\nassistant: `).length / 4));
    expect(r.events.filter((ev) => ev.type === 'delta')).toHaveLength(8);
    expect(r.last).toEqual({ type: 'finish', reason: 'length', usage: { promptTokens, completionTokens: 8, cachedTokens: 0 } });
    expect(e.stats()).toMatchObject({ running: 0, waiting: 0, kvUsage: 0, promptTokensTotal: promptTokens, generationTokensTotal: 8 });
  });

  it('answers a deterministic request the same way twice, and a sampled one differently', async () => {
    const { e, clock } = engine();
    const greedy = [await collect(e, clock, request()), await collect(e, clock, request())];
    expect(greedy[0]!.text).toBe(greedy[1]!.text);
    const sampled = request({ sampling: { ...DEFAULT_SAMPLING, temperature: 1 }, maxTokens: 30 });
    expect((await collect(e, clock, sampled)).text).not.toBe((await collect(e, clock, sampled)).text);
  });

  it('serves a repeated prefix from the cache: cached tokens, prefix metrics and a shorter prefill', async () => {
    const { e, clock } = engine();
    const first = await collect(e, clock, request({}, 'first question'));
    const second = await collect(e, clock, request({}, 'a different question'));
    const cached = (second.events[0] as { cachedTokens: number }).cachedTokens;
    expect(cached).toBeGreaterThanOrEqual(400);
    expect(cached % 16).toBe(0);
    expect(second.last).toMatchObject({ usage: { cachedTokens: cached } });
    const s = e.stats();
    expect(s.prefixCacheHits).toBe(cached);
    expect(s.prefixCacheQueries).toBe(s.promptTokensTotal);
    // Time to the first token: the first prompt paid ~500 tokens of prefill, the second ~20.
    const ttft = (r: typeof first) => r.at[1]! - r.t0;
    expect(ttft(second)).toBeLessThan(ttft(first) - 0.05 * 400);
  });

  it('natural stop: without ignoreEos a large budget ends with stop before it', async () => {
    const { e, clock } = engine({ meanOutputTokens: 10 });
    const r = await collect(e, clock, request({ ignoreEos: false, maxTokens: 1000 }));
    expect(r.last).toMatchObject({ reason: 'stop' });
    expect((r.last as { usage: { completionTokens: number } }).usage.completionTokens).toBeLessThanOrEqual(20);
  });

  it('ends before a stop string, which never reaches the output', async () => {
    const { e, clock } = engine();
    const full = await collect(e, clock, request({ maxTokens: 20 }));
    const word = full.text.split(' ')[3]!;
    const r = await collect(e, clock, request({ maxTokens: 20, stop: [` ${word}`] }));
    expect(r.last).toMatchObject({ reason: 'stop' });
    expect(r.text).toBe(full.text.slice(0, full.text.indexOf(` ${word}`)));
  });

  it('batches up to maxRunning and queues the rest', async () => {
    const { e, clock } = engine({ maxRunning: 2 });
    let most = 0;
    const watch = async (req: GenerateRequest) => {
      for await (const _ of e.generate(req, new AbortController().signal)) most = Math.max(most, e.stats().running);
    };
    await Promise.all([1, 2, 3, 4].map((i) => watch(request({ requestId: `r${i}` }, `q${i}`))));
    expect(most).toBe(2);
    expect(e.stats().generationTokensTotal).toBe(32);
    // Two at a time: 4 × 8 tokens take 16 steps.
    expect(clock.sleeps).toHaveLength(16);
  });

  it('refuses beyond the queue as overloaded with a retry-after', async () => {
    const { e } = engine({ maxRunning: 1, maxQueue: 1 });
    const signal = new AbortController().signal;
    const a = e.generate(request(), signal);
    const b = e.generate(request(), signal);
    const c = e.generate(request(), signal);
    const first = a.next();
    const second = b.next();
    const err = await c.next().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'overloaded', status: 503 });
    expect((err as ApiError).retryAfter).toBeGreaterThanOrEqual(1);
    await Promise.all([first, second]);
    await Promise.all([a.return(undefined), b.return(undefined)]);
  });

  it('waits for KV blocks when the budget is full', async () => {
    // Each request holds 32 blocks (~500 prompt tokens + 8): two do not fit 62.
    const { e, clock } = engine({ maxRunning: 8, maxContextTokens: 960, kvBudgetTokens: 992 });
    let most = 0;
    const watch = async (req: GenerateRequest) => {
      for await (const _ of e.generate(req, new AbortController().signal)) most = Math.max(most, e.stats().running);
    };
    await Promise.all([watch(request({}, 'a')), watch(request({}, 'b'))]);
    expect(most).toBe(1);
    expect(clock.sleeps).toHaveLength(16);
  });

  it.each([
    { name: 'prompt over the context', tuning: { maxContextTokens: 64 }, req: request(), code: 'context_length_exceeded', status: 400 },
    { name: 'bad max_tokens', tuning: {}, req: request({ maxTokens: 0 }), code: 'invalid_request_error', status: 400 },
    { name: 'empty prompt', tuning: {}, req: request({ prompt: { kind: 'text', text: '' } }), code: 'invalid_request_error', status: 400 },
    { name: 'refuseRate 1', tuning: { refuseRate: 1 }, req: request(), code: 'overloaded', status: 503 },
    { name: 'errorRate 1', tuning: { errorRate: 1 }, req: request(), code: 'internal_error', status: 500 },
  ])('refuses before the first event: $name', async ({ tuning, req, code, status }) => {
    const { e } = engine(tuning);
    const err = await e
      .generate(req, new AbortController().signal)
      .next()
      .catch((x: unknown) => x);
    expect(err).toMatchObject({ code, status });
  });

  it('injects faults at the configured rate, repeatably with a fault seed', async () => {
    const outcomes = async () => {
      const { e, clock } = engine({ errorRate: 0.3, faultSeed: 5 });
      const out: string[] = [];
      for (let i = 0; i < 40; i++)
        out.push(
          await collect(e, clock, request({ maxTokens: 1 })).then(
            () => 'ok',
            () => 'fail',
          ),
        );
      return out;
    };
    const a = await outcomes();
    expect(a).toEqual(await outcomes());
    const failed = a.filter((o) => o === 'fail').length;
    expect(failed).toBeGreaterThan(4);
    expect(failed).toBeLessThan(24);
  });

  it('dieAfterTokens: the stream throws after exactly that many tokens', async () => {
    const { e } = engine({ dieAfterTokens: 3 });
    const seen: EngineEvent[] = [];
    const err = await (async () => {
      for await (const ev of e.generate(request(), new AbortController().signal)) seen.push(ev);
    })().catch((x: unknown) => x);
    expect(err).toMatchObject({ code: 'internal_error' });
    expect(seen.filter((ev) => ev.type === 'delta')).toHaveLength(3);
    expect(e.stats()).toMatchObject({ running: 0, kvUsage: 0 });
  });

  it('slow stretches every step', async () => {
    const fast = engine();
    const slow = engine({ slow: 3 });
    await collect(fast.e, fast.clock, request());
    await collect(slow.e, slow.clock, request());
    expect(slow.clock.now()).toBeCloseTo(3 * fast.clock.now(), 6);
  });

  it.each([
    { name: 'late timers (+1 ms each)', speed: 1, late: (ms: number) => ms + 1, modelMs: 8 * 12.4 },
    { name: 'steps shorter than a timer tick', speed: 100, late: (ms: number) => Math.max(1, ms) + 0.5, modelMs: 8 * 0.124 * 25 },
  ])('keeps to the modelled schedule: $name', async ({ speed, late, modelMs }) => {
    let t = 0;
    const clock: SimClock = {
      now: () => t,
      sleep: async (ms) => {
        t += late(ms);
        await new Promise((resolve) => setTimeout(resolve, 0));
      },
    };
    const e = new SimEngine({ speed }, { clock });
    const tokens = Math.round(modelMs / ((12.4 + 0.15 * 0.01) / speed));
    await collect(e, clock, request({ prompt: { kind: 'text', text: 'hi' }, maxTokens: tokens }));
    // Within a timer tick either way: the last steps may run up to 1 ms early, the last sleep late.
    expect(t).toBeGreaterThanOrEqual(modelMs - 1);
    expect(t).toBeLessThanOrEqual(modelMs + 2);
  });

  it('an abort ends the stream within one step with reason abort and exact usage', async () => {
    const { e } = engine();
    const ctl = new AbortController();
    const events: EngineEvent[] = [];
    for await (const ev of e.generate(request({ maxTokens: 100 }), ctl.signal)) {
      events.push(ev);
      if (events.filter((x) => x.type === 'delta').length === 3) ctl.abort();
    }
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'abort', usage: { completionTokens: 3 } });
    expect(e.stats()).toMatchObject({ running: 0, kvUsage: 0 });
  });

  it('drain refuses new requests and resolves once running ones finish; close fails the rest', async () => {
    const { e, clock } = engine();
    const running = collect(e, clock, request());
    const drained = e.drain();
    await expect(e.generate(request(), new AbortController().signal).next()).rejects.toMatchObject({ code: 'engine_unavailable' });
    await drained;
    expect((await running).last).toMatchObject({ reason: 'length' });
    await e.close();
    await expect(e.generate(request(), new AbortController().signal).next()).rejects.toMatchObject({ code: 'engine_unavailable' });
  });

  it('reports kv usage and load while running, and tokens per second after', async () => {
    const { e } = engine({ maxRunning: 1, kvBudgetTokens: 8192 });
    const signal = new AbortController().signal;
    const a = e.generate(request(), signal);
    const b = e.generate(request(), signal);
    await a.next();
    const p = b.next();
    expect(e.stats()).toMatchObject({ running: 1, waiting: 1, maxRunning: 1 });
    expect(e.stats().kvUsage).toBe(32 / 512); // ~500 prompt tokens + 8 = 32 of 8,192 / 16 blocks
    for await (const _ of a);
    await p;
    for await (const _ of b);
    // 16 tokens over ~200 ms of model time, averaged over at least a second.
    expect(e.stats().tokensPerSecond).toBe(16);
  });
});
