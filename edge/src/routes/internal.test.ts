import { describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '#shared/protocol.ts';
import { TEST_KEY, testEdge, usageRecord } from '../testing/harness.ts';

const nestedArrays = (depth: number): unknown[] => (depth <= 1 ? [] : [nestedArrays(depth - 1)]);
const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] };

describe('heartbeat', () => {
  it('a replica leaves rotation 3 s after its last beat and returns with the next one', async () => {
    const t = await testEdge();
    expect((await t.beat(t.origins[0]!)).status).toBe(200);
    t.clock.advance(3000);
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
    t.clock.advance(1);
    const stale = await t.post('/v1/chat/completions', chat);
    // Known model, no live replica: 503 (retry), not 404.
    expect(stale.status).toBe(503);
    expect((await t.get('/v1/models/motif-test')).status).toBe(404);
    await t.beat(t.origins[0]!);
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
  });

  it('ignores a beat older than the stored one (a delayed or replayed state)', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!, { ts: t.clock.now() });
    expect((await t.beat(t.origins[0]!, { ts: t.clock.now() - 2000, state: 'draining' })).status).toBe(200);
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
  });

  it('keeps a replica in rotation when its clock steps back (NTP): a beat minutes older is fresh, not late', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!, { ts: t.clock.now() + 4 * 60_000 });
    t.clock.advance(2500);
    await t.beat(t.origins[0]!, { ts: t.clock.now() });
    t.clock.advance(2500);
    // 5 s after the stepped-ahead beat: in rotation only if the beat after the step counted.
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
    t.clock.advance(1000);
    await t.beat(t.origins[0]!, { ts: t.clock.now(), state: 'draining' });
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(503);
  });

  it.each([
    { name: 'missing field', body: { replica_id: 'r1' }, param: 'node_id' },
    { name: 'bad state', override: { state: 'sleeping' }, param: 'state' },
    { name: 'non-http url', override: { url: 'file:///etc/passwd' }, param: 'url' },
    { name: 'nested too deep', override: { labels: nestedArrays(100) }, param: 'labels' },
  ])('rejects a malformed beat: $name', async ({ body, override, param }) => {
    const t = await testEdge();
    const res = await t.signedPost(INTERNAL_PATHS.heartbeat, body ?? { ...t.origins[0]!.heartbeat(), ...override });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
  });
});

describe('internal signatures', () => {
  it.each([
    { name: 'wrong secret', opts: { key: { kid: 'k1', secret: 'not-the-secret-0000000' } } },
    { name: 'unknown kid', opts: { key: { kid: 'k9', secret: 'test-secret-0123456789abcdef' } } },
    { name: 'tampered body', opts: { tamper: true } },
  ])('$name → 401 invalid_signature', async ({ opts }) => {
    const t = await testEdge();
    for (const path of [INTERNAL_PATHS.heartbeat, INTERNAL_PATHS.usage]) {
      const res = await t.signedPost(path, path === INTERNAL_PATHS.usage ? { records: [usageRecord()] } : t.origins[0]!.heartbeat(), opts);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'invalid_signature', type: 'authentication_error' } });
    }
    expect(t.ledger.size()).toBe(0);
    // The refused heartbeat registered nothing.
    expect(await (await t.app.request('/healthz')).json()).toMatchObject({ replicas: { known: 0 } });
  });

  it('unsigned → 401; an API key is no substitute', async () => {
    const t = await testEdge();
    const res = await t.app.request(INTERNAL_PATHS.usage, {
      method: 'POST',
      body: JSON.stringify({ records: [usageRecord()] }),
      headers: { authorization: `Bearer ${TEST_KEY}` },
    });
    expect(res.status).toBe(401);
  });

  it('awaits an asynchronous replay window (a shared store answers later)', async () => {
    const seen = new Set<string>();
    const replayWindow = {
      check: async (id: string) => {
        await new Promise((r) => setTimeout(r, 1));
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      },
    };
    const t = await testEdge({ deps: { replayWindow } });
    expect((await t.signedPost(INTERNAL_PATHS.heartbeat, t.origins[0]!.heartbeat(), { requestId: 'hb-async' })).status).toBe(200);
    expect((await t.signedPost(INTERNAL_PATHS.heartbeat, t.origins[0]!.heartbeat(), { requestId: 'hb-async' })).status).toBe(409);
    expect([...seen]).toEqual(['hb-async']);
  });

  it('a replayed request id → 409', async () => {
    const t = await testEdge();
    expect((await t.signedPost(INTERNAL_PATHS.heartbeat, t.origins[0]!.heartbeat(), { requestId: 'hb-1' })).status).toBe(200);
    expect((await t.signedPost(INTERNAL_PATHS.heartbeat, t.origins[0]!.heartbeat(), { requestId: 'hb-1' })).status).toBe(409);
  });
});

describe('usage ingest and /v1/usage', () => {
  it('is idempotent on (replica_id, request_id)', async () => {
    const t = await testEdge();
    const batch = { records: [usageRecord({ request_id: 'a' }), usageRecord({ request_id: 'b' })] };
    const first = await t.signedPost(INTERNAL_PATHS.usage, batch);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ accepted: 2, duplicates: 0 });
    const again = await t.signedPost(INTERNAL_PATHS.usage, { records: [...batch.records, usageRecord({ request_id: 'a', replica_id: 'r1-b' })] });
    expect(await again.json()).toEqual({ accepted: 1, duplicates: 2 });
    expect(t.ledger.size()).toBe(3);
  });

  it('rejects a bad batch naming the field', async () => {
    const t = await testEdge();
    const res = await t.signedPost(INTERNAL_PATHS.usage, { records: [usageRecord({ prompt_tokens: -1 })] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('records.0.prompt_tokens');
  });

  it("reports the caller's tenant only, grouped and ranged", async () => {
    const t = await testEdge();
    const day1 = Date.UTC(2026, 0, 2, 12);
    const day2 = Date.UTC(2026, 0, 3, 12);
    await t.signedPost(INTERNAL_PATHS.usage, {
      records: [
        usageRecord({ request_id: '1', finished_at: day1, model: 'm-a', key_id: 'k-a' }),
        usageRecord({ request_id: '2', finished_at: day1 + 1000, model: 'm-b', key_id: 'k-a' }),
        usageRecord({ request_id: '3', finished_at: day2, model: 'm-a', key_id: 'k-b', completion_tokens: 7 }),
        usageRecord({ request_id: '4', finished_at: day2, tenant_id: 'someone-else' }),
        // Request 1 was first refused by a busy replica, then failed over: one billed request.
        usageRecord({
          request_id: '1',
          replica_id: 'r1-b',
          finished_at: day1 - 10,
          model: 'm-a',
          key_id: 'k-a',
          outcome: 'refused',
          prompt_tokens: 0,
          completion_tokens: 0,
        }),
      ],
    });
    const q = async (query: string) =>
      ((await (await t.get(`/v1/usage${query}`)).json()) as { data: { group: string; requests: number; completion_tokens: number; total_tokens: number }[] })
        .data;
    expect(await q('')).toEqual([
      { group: '2026-01-02', requests: 2, prompt_tokens: 20, cached_tokens: 0, completion_tokens: 10, total_tokens: 30, refused: 1, cache_hits: 0 },
      { group: '2026-01-03', requests: 1, prompt_tokens: 10, cached_tokens: 0, completion_tokens: 7, total_tokens: 17, refused: 0, cache_hits: 0 },
    ]);
    expect((await q('?group_by=hour')).map((r) => [r.group, r.requests])).toEqual([
      ['2026-01-02T11:00:00Z', 0],
      ['2026-01-02T12:00:00Z', 2],
      ['2026-01-03T12:00:00Z', 1],
    ]);
    expect((await q('?group_by=model')).map((r) => [r.group, r.requests])).toEqual([
      ['m-a', 2],
      ['m-b', 1],
    ]);
    expect((await q('?group_by=key')).map((r) => [r.group, r.requests])).toEqual([
      ['k-a', 2],
      ['k-b', 1],
    ]);
    // Seconds and milliseconds both work for from/to.
    expect((await q(`?from=${day2 / 1000}`)).map((r) => r.group)).toEqual(['2026-01-03']);
    expect((await q(`?to=${day2}`)).map((r) => r.group)).toEqual(['2026-01-02']);
  });

  it.each(['?group_by=week', '?group_by=tenant', '?from=abc', `?from=20&to=10`])('bad query %s → 400', async (query) => {
    const t = await testEdge();
    expect((await t.get(`/v1/usage${query}`)).status).toBe(400);
  });
});
