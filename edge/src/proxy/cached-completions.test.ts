import { describe, expect, it } from 'vitest';
import { type Digests, webDigests } from '#shared/digests.ts';
import { memoryResponseCache } from '../adapters/memory/response-cache.ts';
import { seededKeyRecord } from '../keys/key-record.ts';
import type { Clock } from '../ports.ts';
import { sseEvents, TEST_HASHER, TEST_KEY, type TestEdge, type TestEdgeOptions, testEdge } from '../testing/harness.ts';
import type { OriginFetch } from './upstream.ts';

const chat = { model: 'motif-test', temperature: 0, messages: [{ role: 'user', content: 'hi' }] };
const OTHER_KEY = 'sk-motif-other-tenant-0123456789abcdef';

/** A test edge with an in-memory response cache whose TTLs follow the edge's manual clock. */
async function cachedEdge(o: TestEdgeOptions & { cache?: Record<string, unknown> } = {}): Promise<TestEdge> {
  let edge: TestEdge | undefined;
  const clock: Clock = { now: () => edge?.clock.now() ?? Date.now() };
  edge = await testEdge({
    ...o,
    deps: {
      responseCache: memoryResponseCache({ maxEntries: 100, maxBytes: 1_000_000, clock }),
      options: { limits: o.limits, cache: o.cache },
      ...o.deps,
    },
  });
  await edge.beat(edge.origins[0]!);
  return edge;
}

const originCalls = (t: TestEdge) => t.origins.reduce((n, o) => n + o.requests.length, 0);

interface Answer {
  status: number;
  xCache: string | null;
  text: string;
  done: boolean;
  objects: string[];
  usage: unknown;
}

/** The answer's text whether it came as JSON or SSE, and whether a stream ended with [DONE]. */
async function answer(res: Response): Promise<Answer> {
  const base = { status: res.status, xCache: res.headers.get('x-cache') };
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const events = await sseEvents(res);
    const chunks = events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as Record<string, unknown>);
    type Choice = { delta?: { content?: string }; text?: string };
    const text = chunks.map((c) => (c.choices as Choice[]).map((x) => x.delta?.content ?? x.text ?? '').join('')).join('');
    return { ...base, text, done: events.at(-1)?.data === '[DONE]', objects: chunks.map((c) => String(c.object)), usage: chunks.find((c) => c.usage)?.usage };
  }
  const body = (await res.json()) as { object?: string; choices?: { message?: { content: string }; text?: string }[]; usage?: unknown };
  const c = body.choices?.[0];
  return { ...base, text: c?.message?.content ?? c?.text ?? '', done: false, objects: [String(body.object)], usage: body.usage };
}

describe('response cache', () => {
  it.each([
    ['JSON then JSON', false, false],
    ['JSON then stream', false, true],
    ['stream then JSON', true, false],
    ['stream then stream', true, true],
  ])('%s: a miss, then a hit with the same text from one origin call', async (_name, firstStream, secondStream) => {
    const t = await cachedEdge();
    const miss = await answer(await t.post('/v1/chat/completions', { ...chat, stream: firstStream }));
    const hit = await answer(await t.post('/v1/chat/completions', { ...chat, stream: secondStream }));
    expect([miss.status, miss.xCache, hit.status, hit.xCache]).toEqual([200, 'MISS', 200, 'HIT']);
    expect(hit.text).toBe('Hello world');
    expect(hit.text).toBe(miss.text);
    if (secondStream) {
      expect(hit.done).toBe(true);
      expect(hit.usage).toBeUndefined(); // not asked for
    } else expect(hit.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(originCalls(t)).toBe(1);
  });

  it('a stream hit has the origin stream chunk shape: role chunk, pieces, finish, usage when asked, [DONE]', async () => {
    const t = await cachedEdge();
    const body = { ...chat, stream: true, stream_options: { include_usage: true } };
    const miss = await sseEvents(await t.post('/v1/chat/completions', body));
    const hit = await sseEvents(await t.post('/v1/chat/completions', body));
    const shape = (events: { data: string }[]) =>
      events.map((e) => {
        if (e.data === '[DONE]') return '[DONE]';
        const { choices, usage } = JSON.parse(e.data) as { choices: unknown[]; usage?: unknown };
        return { choices, usage: usage ?? null };
      });
    expect(shape(hit)).toEqual(shape(miss));
  });

  it('completions: a stream hit replays text chunks and [DONE]', async () => {
    const t = await cachedEdge();
    const body = { model: 'motif-test', prompt: 'a', seed: 4, stream: true };
    await answer(await t.post('/v1/completions', body));
    const hit = await answer(await t.post('/v1/completions', body));
    expect(hit).toMatchObject({ xCache: 'HIT', text: 'Hello world', done: true });
    expect(new Set(hit.objects)).toEqual(new Set(['text_completion']));
  });

  it('two tenants sending the same request never see each other’s entry', async () => {
    const t = await cachedEdge();
    await t.keys.putKey(await seededKeyRecord(OTHER_KEY, { tenantId: 'beta', createdAt: t.clock.now() }, TEST_HASHER));
    const other = { authorization: `Bearer ${OTHER_KEY}` };
    expect((await answer(await t.post('/v1/chat/completions', chat))).xCache).toBe('MISS');
    expect((await answer(await t.post('/v1/chat/completions', chat, other))).xCache).toBe('MISS');
    expect((await answer(await t.post('/v1/chat/completions', chat, other))).xCache).toBe('HIT');
    expect((await answer(await t.post('/v1/chat/completions', chat))).xCache).toBe('HIT');
    expect(t.origins[0]!.requests.map((r) => r.headers['x-tenant-id'])).toEqual(['acme', 'beta']);
  });

  it.each([
    ['cache-control: no-store', chat, { 'cache-control': 'no-store' }],
    ['no-store among other directives', chat, { 'cache-control': 'max-age=0, No-Store' }],
    ['a sampled request (default temperature)', { ...chat, temperature: undefined }, {}],
    ['temperature 0.7 without a seed', { ...chat, temperature: 0.7 }, {}],
  ])('%s: BYPASS, neither read nor written', async (_name, body, headers) => {
    const t = await cachedEdge();
    const first = await answer(await t.post('/v1/chat/completions', body, headers));
    const second = await answer(await t.post('/v1/chat/completions', body, headers));
    expect([first.xCache, second.xCache]).toEqual(['BYPASS', 'BYPASS']);
    expect(originCalls(t)).toBe(2);
  });

  it('no-store does not write: the next normal request is still a miss', async () => {
    const t = await cachedEdge();
    await answer(await t.post('/v1/chat/completions', chat, { 'cache-control': 'no-store' }));
    expect((await answer(await t.post('/v1/chat/completions', chat))).xCache).toBe('MISS');
  });

  it('without a store the edge answers BYPASS for deterministic requests too', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    expect((await answer(await t.post('/v1/chat/completions', chat))).xCache).toBe('BYPASS');
  });

  it('a new weights revision misses (the key follows the serving revision)', async () => {
    const t = await cachedEdge();
    await answer(await t.post('/v1/chat/completions', chat));
    await t.beat(t.origins[0]!, { revision: 'rev-2' });
    expect((await answer(await t.post('/v1/chat/completions', chat))).xCache).toBe('MISS');
    expect((await answer(await t.post('/v1/chat/completions', chat))).xCache).toBe('HIT');
  });

  it('an entry expires after its TTL', async () => {
    const t = await cachedEdge({ cache: { ttlMs: 60_000 } });
    await answer(await t.post('/v1/chat/completions', chat));
    t.clock.advance(59_000);
    await t.beat(t.origins[0]!);
    expect((await answer(await t.post('/v1/chat/completions', chat))).xCache).toBe('HIT');
    t.clock.advance(2_000);
    await t.beat(t.origins[0]!);
    expect((await answer(await t.post('/v1/chat/completions', chat))).xCache).toBe('MISS');
  });

  it('an answer above maxEntryBytes is not stored', async () => {
    const t = await cachedEdge({ cache: { maxEntryBytes: 1024 }, origins: [{ replicaId: 'r1', pieces: ['x'.repeat(2000)] }] });
    await answer(await t.post('/v1/chat/completions', chat));
    expect((await answer(await t.post('/v1/chat/completions', chat))).xCache).toBe('MISS');
  });

  it.each([
    ['an origin error', 'reject-400', 400],
    ['a stream cut mid-way', 'die-mid-stream', 200],
  ] as const)('%s is not stored', async (_name, mode, status) => {
    const t = await cachedEdge();
    t.origins[0]!.mode = mode;
    const first = await t.post('/v1/chat/completions', { ...chat, stream: true });
    expect(first.status).toBe(status);
    await first.text();
    t.origins[0]!.mode = 'ok';
    expect((await answer(await t.post('/v1/chat/completions', chat))).xCache).toBe('MISS');
  });
});

/**
 * An origin fetch that holds every call until `k` requests have computed their cache key (the
 * digests are counted), plus a few ms for each to join the flight, so all `k` overlap the
 * leader's origin call however slow the machine.
 */
function gated(inner: () => OriginFetch, k: number, failFirst = false) {
  let keyDigests = 0;
  const digests: Digests = {
    sha256Hex(data) {
      if (typeof data === 'string' && data.startsWith('{"endpoint"')) keyDigests++;
      return webDigests.sha256Hex(data);
    },
    hmacSha256Hex: webDigests.hmacSha256Hex,
  };
  const gate = (async () => {
    const until = Date.now() + 20_000;
    while (keyDigests < k && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
  })();
  let calls = 0;
  const fetch: OriginFetch = async (call) => {
    const n = calls++;
    await gate;
    if (failFirst && n === 0) throw new TypeError('fetch failed: connect ECONNREFUSED');
    return inner()(call);
  };
  return { fetch, digests };
}

describe('coalescing', () => {
  it.each([false, true])('50 concurrent identical requests (stream: %s) cause exactly one origin generation', async (stream) => {
    let t: TestEdge | undefined;
    const gate = gated(() => t!.network.fetch, 50);
    t = await cachedEdge({ deps: { originFetch: gate.fetch, digests: gate.digests } });
    const pending = Array.from({ length: 50 }, () => t!.post('/v1/chat/completions', { ...chat, stream }).then(answer));
    const answers = await Promise.all(pending);
    expect(originCalls(t)).toBe(1);
    expect(answers.every((a) => a.status === 200 && a.text === 'Hello world')).toBe(true);
    expect(answers.filter((a) => a.xCache === 'MISS')).toHaveLength(1);
    expect(answers.filter((a) => a.xCache === 'HIT')).toHaveLength(49);
    if (stream) expect(answers.every((a) => a.done)).toBe(true);
    const usage = (await (await t.get('/v1/usage?group_by=model')).json()) as { data: { requests: number; cache_hits: number }[] };
    expect(usage.data).toEqual([expect.objectContaining({ requests: 49, cache_hits: 49 })]);
  });

  it('followers of a failed leader make their own origin calls and never get its error', async () => {
    let t: TestEdge | undefined;
    const gate = gated(() => t!.network.fetch, 5, true);
    t = await cachedEdge({ deps: { originFetch: gate.fetch, digests: gate.digests } });
    const pending = Array.from({ length: 5 }, () => t!.post('/v1/chat/completions', chat).then(answer));
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 503]);
    expect(answers.filter((a) => a.status === 200).every((a) => a.text === 'Hello world' && a.xCache === 'MISS')).toBe(true);
    expect(originCalls(t)).toBe(4);
  });
});

describe('a follower whose client leaves', () => {
  it('ends at once with 499, not when the leader does; the leader still answers', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let t: TestEdge | undefined;
    const fetch: OriginFetch = async (call) => {
      await held;
      return t!.network.fetch(call);
    };
    t = await cachedEdge({ deps: { originFetch: fetch } });
    const leader = t.post('/v1/chat/completions', chat);
    await new Promise((r) => setTimeout(r, 20));
    const abort = new AbortController();
    const follower = t.app.request('/v1/chat/completions', {
      method: 'POST',
      signal: abort.signal,
      body: JSON.stringify(chat),
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
    });
    await new Promise((r) => setTimeout(r, 20));
    abort.abort();
    const res = await Promise.race([follower, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 2000))]);
    expect(res === 'waiting' ? res : res.status).toBe(499);
    release();
    expect((await answer(await leader)).xCache).toBe('MISS');
  });
});

describe('limits and metering of hits', () => {
  it('a hit takes a request from requests/min, settles 0 tokens and writes its own cached usage record', async () => {
    const t = await cachedEdge({ limits: { requestsPerMinute: 2 } });
    expect((await t.post('/v1/chat/completions', chat)).headers.get('x-ratelimit-remaining-requests')).toBe('1');
    const hit = await t.post('/v1/chat/completions', chat);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    await hit.text();
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(429);
    const rows = (await (await t.get('/v1/usage?group_by=model')).json()) as { data: unknown[] };
    // The miss's record comes from the origin's outbox (no outbox in this harness): only the hit's is here.
    expect(rows.data).toEqual([
      { group: 'motif-test', requests: 1, prompt_tokens: 5, cached_tokens: 5, completion_tokens: 3, total_tokens: 8, refused: 0, cache_hits: 1 },
    ]);
  });
});
