import { describe, expect, it } from 'vitest';
import { MAX_SKEW_MS } from '#shared/signing.ts';
import { metricsRequest, ScriptedTestEngine, signedRequest, TEST_METRICS_TOKEN, testOrigin } from './test-helpers.ts';

const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] };
const engine = () => new ScriptedTestEngine(() => ({ promptTokens: 3, pieces: [{ text: 'ok' }] }));

async function errorOf(res: Response) {
  const body = (await res.json()) as { error: { message: string; type: string; code: string | null } };
  return { status: res.status, ...body.error };
}

describe('signature check on /v1 and /admin', () => {
  it('accepts a correctly signed request', async () => {
    const { app } = testOrigin(engine());
    const res = await app.request(await signedRequest('/v1/chat/completions', { body: chat }));
    expect(res.status).toBe(200);
  });

  it.each([
    [
      'missing',
      async () => {
        const req = await signedRequest('/v1/chat/completions', { body: chat });
        req.headers.delete('x-motif-signature');
        return req;
      },
      /missing/i,
    ],
    [
      'signed with an unknown key',
      () => signedRequest('/v1/chat/completions', { body: chat, key: { kid: 'k9', secret: 'another-secret-0123456' } }),
      /unknown/i,
    ],
    [
      'signed with a wrong secret',
      () => signedRequest('/v1/chat/completions', { body: chat, key: { kid: 'k1', secret: 'wrong-secret-0123456789' } }),
      /invalid/i,
    ],
    ['expired (skew > 5 min)', () => signedRequest('/v1/chat/completions', { body: chat, at: Date.now() - MAX_SKEW_MS - 1_000 }), /skew/i],
    ['from the future (skew > 5 min)', () => signedRequest('/v1/chat/completions', { body: chat, at: Date.now() + MAX_SKEW_MS + 1_000 }), /skew/i],
    [
      'with a tampered body',
      async () => {
        const good = await signedRequest('/v1/chat/completions', { body: chat });
        return new Request(good.url, { method: 'POST', headers: good.headers, body: JSON.stringify({ ...chat, max_tokens: 999 }) });
      },
      /invalid/i,
    ],
    [
      'with a tampered tenant',
      async () => {
        const req = await signedRequest('/v1/chat/completions', { body: chat });
        req.headers.set('x-tenant-id', 'tenant-b');
        return req;
      },
      /invalid/i,
    ],
    ['on /admin/drain, missing', () => Promise.resolve(new Request('http://origin.test/admin/drain', { method: 'POST' })), /missing/i],
    ['on /v1/models, missing', () => Promise.resolve(new Request('http://origin.test/v1/models')), /missing/i],
  ])('refuses a signature %s with 401 OpenAI JSON', async (_name, build, message) => {
    const eng = engine();
    const { app, outbox } = testOrigin(eng);
    const err = await errorOf(await app.request(await build()));
    expect(err).toMatchObject({ status: 401, type: 'authentication_error', code: 'invalid_signature' });
    expect(err.message).toMatch(message);
    expect(eng.requests).toHaveLength(0);
    expect(outbox.all).toHaveLength(0);
  });

  it('refuses a replayed request id with 409 and runs the engine once', async () => {
    const eng = engine();
    const { app, outbox } = testOrigin(eng);
    const first = await signedRequest('/v1/chat/completions', { body: chat, requestId: 'dup-1' });
    const replay = first.clone();
    expect((await app.request(first)).status).toBe(200);
    const err = await errorOf(await app.request(replay));
    expect(err).toMatchObject({ status: 409, code: 'conflict' });
    expect(eng.requests).toHaveLength(1);
    expect(outbox.all).toHaveLength(1);
  });

  it('awaits an asynchronous replay window', async () => {
    const eng = engine();
    const { app } = testOrigin(eng, { replayWindow: { check: async () => false } });
    const err = await errorOf(await app.request(await signedRequest('/v1/chat/completions', { body: chat })));
    expect(err).toMatchObject({ status: 409, code: 'conflict' });
    expect(eng.requests).toHaveLength(0);
  });

  it('does not put ids of badly signed requests into the replay window', async () => {
    const { app } = testOrigin(engine());
    const bad = await signedRequest('/v1/chat/completions', { body: chat, requestId: 'id-x', key: { kid: 'k1', secret: 'wrong-secret-0123456789' } });
    expect((await app.request(bad)).status).toBe(401);
    expect((await app.request(await signedRequest('/v1/chat/completions', { body: chat, requestId: 'id-x' }))).status).toBe(200);
  });

  it('refuses an oversized body with 413 before verifying', async () => {
    const eng = engine();
    const { app } = testOrigin(eng);
    const big = { ...chat, messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }] };
    const err = await errorOf(await app.request(await signedRequest('/v1/chat/completions', { body: big })));
    expect(err).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('stops reading an unsigned chunked upload at the limit instead of buffering it whole', async () => {
    const eng = engine();
    const { app } = testOrigin(eng);
    // 512 MiB offered in 1 MiB chunks, no content-length, no signature: only what fits is pulled.
    const chunk = new Uint8Array(1 << 20);
    let pulled = 0;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (pulled === 512) return ctl.close();
        pulled++;
        ctl.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    });
    const req = new Request('http://origin.test/v1/chat/completions', { method: 'POST', body, duplex: 'half' } as RequestInit);
    const err = await errorOf(await app.request(req));
    expect(err).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThanOrEqual(8); // the body limit (4 MiB by default) and a chunk read ahead, not 512
    expect(eng.requests).toHaveLength(0);
  });

  it('leaves /healthz and /readyz open', async () => {
    const { app } = testOrigin(engine());
    for (const path of ['/healthz', '/readyz']) expect((await app.request(path)).status).toBe(200);
  });
});

describe('/metrics access', () => {
  const withAuth = (authorization?: string) => new Request('http://origin.test/metrics', authorization ? { headers: { authorization } } : {});

  it.each([
    { name: 'no token', authorization: undefined },
    { name: 'a wrong token', authorization: 'Bearer not-the-metrics-token-0000' },
    { name: 'a prefix of the token', authorization: `Bearer ${TEST_METRICS_TOKEN.slice(0, -1)}` },
    { name: 'the token as Basic', authorization: `Basic ${TEST_METRICS_TOKEN}` },
  ])('with a token configured, $name → 401 OpenAI-shaped', async ({ authorization }) => {
    const { app } = testOrigin(engine());
    const res = await app.request(withAuth(authorization));
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await errorOf(res)).toMatchObject({ status: 401, type: 'authentication_error', code: 'authentication_error' });
  });

  it('with the token → 200 Prometheus text', async () => {
    const { app } = testOrigin(engine());
    const res = await app.request(metricsRequest());
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('vllm:num_requests_running');
  });

  it('with nothing configured, closed to everyone (403 naming the variables)', async () => {
    const { app } = testOrigin(engine(), { metricsAccess: undefined });
    const err = await errorOf(await app.request(metricsRequest()));
    expect(err).toMatchObject({ status: 403, code: 'permission_denied' });
    expect(err.message).toMatch(/MOTIF_ORIGIN_METRICS_TOKEN.*MOTIF_ORIGIN_METRICS_PUBLIC=1/);
  });

  it('public: open without a token', async () => {
    const { app } = testOrigin(engine(), { metricsAccess: 'public' });
    expect((await app.request(withAuth())).status).toBe(200);
  });
});
