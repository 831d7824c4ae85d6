import { describe, expect, it } from 'vitest';
import { verify } from '#shared/signing.ts';
import { sseEvents, TEST_RING, testEdge } from '../testing/harness.ts';

const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] };

function contentOf(events: { data: string }[]): string {
  return events
    .filter((e) => e.data !== '[DONE]')
    .map((e) => {
      const c = JSON.parse(e.data) as { choices: { delta?: { content?: string }; text?: string }[] };
      return c.choices.map((x) => x.delta?.content ?? x.text ?? '').join('');
    })
    .join('');
}

describe('forwarding', () => {
  it('signs the normalised body and sends the protocol headers', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/chat/completions', { ...chat, stream: true, unknown_field: 1 });
    expect(res.status).toBe(200);
    await res.text();
    const seen = t.origins[0]!.requests[0]!;
    expect(seen.path).toBe('/v1/chat/completions');
    expect(seen.headers['x-tenant-id']).toBe('acme');
    expect(seen.headers['x-key-id']).toMatch(/^key_[0-9a-f]{16}$/);
    expect(Number(seen.headers['x-deadline'])).toBe(t.clock.now() + 600_000);
    expect(seen.headers['x-motif-client-usage']).toBe('0');
    expect(seen.body.stream_options).toEqual({ include_usage: true });
    expect(seen.body).not.toHaveProperty('unknown_field');
    // The fake origin verified the signature already; check it binds the tenant too.
    const body = JSON.stringify(seen.body);
    await expect(
      verify(
        seen.headers['x-motif-signature'],
        { method: 'POST', path: seen.path, requestId: seen.headers['x-request-id']!, tenantId: 'other', body },
        TEST_RING,
        t.clock.now(),
      ),
    ).rejects.toMatchObject({ code: 'invalid_signature' });
  });

  it('non-stream: passes the JSON through with x-cache BYPASS', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/completions', { model: 'motif-test', prompt: 'a' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('BYPASS');
    const body = (await res.json()) as { object: string; choices: { text: string }[]; usage: { total_tokens: number } };
    expect(body.object).toBe('text_completion');
    expect(body.choices[0]!.text).toBe('Hello world');
    expect(body.usage.total_tokens).toBe(8);
  });

  it('refuses a parameter it would otherwise drop (functions) with a 400 naming it, before any origin sees it', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/chat/completions', { ...chat, functions: [{ name: 'f' }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'functions', type: 'invalid_request_error' } });
    expect(t.origins[0]!.requests).toHaveLength(0);
  });

  it('refuses a forced tool whose parameters are outside the constrained subset, before any origin sees it', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { s: { type: 'string', format: 'email' } } } } }];
    const res = await t.post('/v1/chat/completions', { ...chat, tools, tool_choice: 'required' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'tools.0.function.parameters', message: expect.stringContaining("'format'") } });
    expect(t.origins[0]!.requests).toHaveLength(0);
  });

  it('refuses a prompt longer than every replica advertises it could fit, before any origin sees it', async () => {
    const t = await testEdge({ origins: [{ replicaId: 'r1' }, { replicaId: 'r2' }] });
    await t.beat(t.origins[0]!, { max_prompt_bytes: { prompt: 1000, messages: 900 } });
    await t.beat(t.origins[1]!, { max_prompt_bytes: { prompt: 1000, messages: 900 } });
    const huge = 'x'.repeat(2_000_000);
    for (const [path, body, param] of [
      ['/v1/chat/completions', { ...chat, messages: [{ role: 'user', content: huge }] }, 'messages'],
      ['/v1/completions', { model: 'motif-test', prompt: huge }, 'prompt'],
      ['/v1/chat/completions', { ...chat, messages: [{ role: 'user', content: 'é'.repeat(451) }] }, 'messages'], // 902 bytes, 451 chars
    ] as const) {
      const res = await t.post(path, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'context_length_exceeded', type: 'invalid_request_error', param } });
    }
    expect(t.origins.flatMap((o) => o.requests)).toHaveLength(0);
    // At the bound it is forwarded: the origin decides by tokens.
    const ok = await t.post('/v1/chat/completions', { ...chat, messages: [{ role: 'user', content: 'é'.repeat(450) }] });
    expect(ok.status).toBe(200);
    await ok.text();
  });

  it('maps an origin error to OpenAI JSON with its status', async () => {
    const t = await testEdge({ origins: [{ replicaId: 'r1', mode: 'reject-400' }] });
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/chat/completions', chat);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'context_length_exceeded', param: 'messages' } });
  });
});

describe('streaming', () => {
  it('strips the usage chunk when the client did not ask for it', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/chat/completions', { ...chat, stream: true });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-cache')).toBe('BYPASS');
    const events = await sseEvents(res);
    expect(events.at(-1)!.data).toBe('[DONE]');
    expect(events.some((e) => e.data.includes('"usage"'))).toBe(false);
    expect(contentOf(events)).toBe('Hello world');
  });

  it('keeps exactly one usage chunk when the client asked', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/completions', { model: 'motif-test', prompt: 'a', stream: true, stream_options: { include_usage: true } });
    const events = await sseEvents(res);
    const usage = events.filter((e) => e.data.includes('"usage"')).map((e) => JSON.parse(e.data) as { choices: unknown[]; usage: { total_tokens: number } });
    expect(usage).toHaveLength(1);
    expect(usage[0]!.choices).toEqual([]);
    expect(usage[0]!.usage.total_tokens).toBe(8);
    expect(t.origins[0]!.requests[0]!.headers['x-motif-client-usage']).toBeUndefined();
  });

  it('origin dies mid-stream → SSE error event and no [DONE]', async () => {
    const t = await testEdge({ origins: [{ replicaId: 'r1', mode: 'die-mid-stream' }, { replicaId: 'r2' }] });
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/chat/completions', { ...chat, stream: true });
    expect(res.status).toBe(200);
    const events = await sseEvents(res);
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    const last = events.at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toMatchObject({ error: { type: 'server_error', code: 'origin_error' } });
    // Bytes had reached the client: no retry on the other replica.
    expect(t.origins[1]!.requests).toHaveLength(0);
    expect(t.logs.some((l) => l.includes('after the first byte'))).toBe(true);
  });

  it('client disconnect cancels the origin stream and frees the replica', async () => {
    const admin = 'admin-token-0123456789abcdef';
    const t = await testEdge({ origins: [{ replicaId: 'r1', mode: 'hang' }], deps: { options: { adminToken: admin } } });
    await t.beat(t.origins[0]!);
    const inflight = async () => {
      const res = await t.app.request('/admin/pool', { headers: { authorization: `Bearer ${admin}` } });
      return ((await res.json()) as { data: { inflight: number }[] }).data[0]!.inflight;
    };
    const res = await t.post('/v1/chat/completions', { ...chat, stream: true });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('data: ');
    expect(await inflight()).toBe(1);
    await reader.cancel();
    expect(t.origins[0]!.cancelled).toBe(1);
    expect(await inflight()).toBe(0);
    expect((await t.app.request('/admin/pool', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
  });
});

describe('a pool that knows no replica (an edge that just started)', () => {
  it('answers 503 with retry-after, not 404: the model may exist; once a replica beats, an unknown model is a 404', async () => {
    const t = await testEdge();
    const cold = await t.post('/v1/chat/completions', chat);
    expect(cold.status).toBe(503);
    expect(cold.headers.get('retry-after')).not.toBeNull();
    expect(await cold.json()).toMatchObject({ error: { code: 'origin_unavailable' } });
    await t.beat(t.origins[0]!);
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
    expect((await t.post('/v1/chat/completions', { ...chat, model: 'nope' })).status).toBe(404);
  });
});

describe('failover before the first byte', () => {
  it.each([
    { name: 'connection refused', setup: (t: Awaited<ReturnType<typeof testEdge>>) => t.network.down.add('r1') },
    {
      name: 'origin 503',
      setup: (t: Awaited<ReturnType<typeof testEdge>>) => {
        t.origins[0]!.mode = 'unavailable';
      },
    },
  ])('$name on the first replica → served by the second', async ({ setup }) => {
    // r1 looks idle and r2 busy, so the picker tries r1 first.
    const t = await testEdge({ origins: [{ replicaId: 'r1' }, { replicaId: 'r2' }] });
    await t.beat(t.origins[0]!);
    await t.beat(t.origins[1]!, { waiting: 5 });
    setup(t);
    const res = await t.post('/v1/chat/completions', { ...chat, stream: true });
    expect(res.status).toBe(200);
    expect(contentOf(await sseEvents(res))).toBe('Hello world');
    expect(t.origins[1]!.requests).toHaveLength(1);
    // Every attempt carries the one request id the ledger bills once (usage/billable.ts).
    const ids = t.origins.flatMap((o) => o.requests.map((r) => r.headers['x-request-id']));
    expect(new Set(ids).size).toBe(1);
  });

  it('every replica failing → 503 with the largest retry-after seen', async () => {
    const t = await testEdge({ origins: [{ replicaId: 'r1', mode: 'unavailable' }, { replicaId: 'r2' }] });
    await t.beat(t.origins[0]!);
    await t.beat(t.origins[1]!);
    t.network.down.add('r2');
    const res = await t.post('/v1/chat/completions', chat);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ error: { code: 'origin_unavailable', type: 'server_error' } });
  });

  it('a replica whose slots and queue are full is skipped; a whole pool full is 503 with retry-after, nothing sent', async () => {
    const t = await testEdge({ origins: [{ replicaId: 'r1' }, { replicaId: 'r2' }] });
    await t.beat(t.origins[0]!, { running: 8, max_running: 8, waiting: 4, max_waiting: 4 });
    await t.beat(t.origins[1]!, { running: 8, max_running: 8, waiting: 3, max_waiting: 4 });
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
    expect(t.origins.map((o) => o.requests.length)).toEqual([0, 1]);

    await t.beat(t.origins[1]!, { running: 8, max_running: 8, waiting: 4, max_waiting: 4 });
    const res = await t.post('/v1/chat/completions', chat);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ error: { code: 'origin_unavailable', message: expect.stringContaining('at capacity') } });
    expect(t.origins.map((o) => o.requests.length)).toEqual([0, 1]);
  });

  it("an origin that refuses the signature is a 502, not the client's 401", async () => {
    const t = await testEdge({ deps: { signingKey: { kid: 'k1', secret: 'some-other-secret-123456' } } });
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/chat/completions', chat);
    expect(res.status).toBe(502);
    expect(t.logs.some((l) => l.includes('refused the edge'))).toBe(true);
  });
});
