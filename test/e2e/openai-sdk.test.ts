/**
 * End to end through real processes with the official `openai` SDK: embedded S3 → origin (native
 * engine on the generated tiny model, weights synced from S3) → edge on Node.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '#shared/signing.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
let client: OpenAI;
const ADMIN_TOKEN = 'sdk-suite-admin-token-0123456789';

beforeAll(async () => {
  stack = await startTestStack({ edgeEnv: { MOTIF_ADMIN_TOKEN: ADMIN_TOKEN } });
  client = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.dispose();
});

const messages = [{ role: 'user' as const, content: 'Hello, Motif! 안녕하세요' }];

describe('openai SDK against the edge', () => {
  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain(stack.model);
  });

  it('chat, non-stream', async () => {
    const res = await client.chat.completions.create({ model: stack.model, messages, max_tokens: 8, temperature: 0 });
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]?.message.role).toBe('assistant');
    expect(typeof res.choices[0]?.message.content).toBe('string');
    expect(['stop', 'length']).toContain(res.choices[0]?.finish_reason);
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
  });

  it('chat, stream with include_usage: deltas then one usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: stack.model,
      messages,
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usageChunks = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) {
        usageChunks++;
        expect(chunk.choices).toEqual([]);
        expect(chunk.usage.completion_tokens).toBeGreaterThan(0);
      }
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finish = c.finish_reason ?? finish;
      }
    }
    expect(usageChunks).toBe(1);
    expect(['stop', 'length']).toContain(finish);
    // Greedy: the same request without streaming gives the same text.
    const same = await client.chat.completions.create({ model: stack.model, messages, max_tokens: 12, temperature: 0 });
    expect(same.choices[0]?.message.content).toBe(text);
  });

  it('chat, stream without include_usage: the edge strips the usage chunk', async () => {
    const stream = await client.chat.completions.create({ model: stack.model, messages, max_tokens: 4, stream: true });
    for await (const chunk of stream) expect(chunk.usage ?? null).toBeNull();
  });

  it('completions, stream and non-stream', async () => {
    const res = await client.completions.create({ model: stack.model, prompt: 'The quick brown fox', max_tokens: 6, temperature: 0 });
    expect(res.object).toBe('text_completion');
    expect(res.usage?.completion_tokens).toBeGreaterThan(0);
    let streamed = '';
    const stream = await client.completions.create({ model: stack.model, prompt: 'The quick brown fox', max_tokens: 6, temperature: 0, stream: true });
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
    expect(streamed).toBe(res.choices[0]?.text);
  });
});

describe('errors are OpenAI-shaped', () => {
  it('unknown key → 401', async () => {
    const bad = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: 'sk-wrong-key-0000000000', maxRetries: 0 });
    await expect(bad.models.list()).rejects.toMatchObject({ status: 401 });
  });

  it('unknown model → 404', async () => {
    await expect(client.chat.completions.create({ model: 'no-such-model', messages })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('bad JSON → 400', async () => {
    const res = await fetch(`${stack.edgeUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.type).toBe('invalid_request_error');
  });

  it('a body sent as another media type → 415, surfaced by the SDK with its status and code', async () => {
    const notJson = client.chat.completions.create({ model: stack.model, messages, max_tokens: 1 }, { headers: { 'content-type': 'text/plain' } });
    await expect(notJson).rejects.toMatchObject({ status: 415, code: 'unsupported_media_type', type: 'invalid_request_error' });
  });

  it('GET /openapi.json describes the API this edge serves, with no key', async () => {
    const res = await fetch(`${stack.edgeUrl}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; servers: { url: string }[]; paths: Record<string, unknown> };
    expect(doc).toMatchObject({ openapi: '3.1.0', servers: [{ url: stack.edgeUrl }] });
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/chat/completions', '/v1/models', '/admin/tenants']));
  });

  it("the origin's /metrics wants the stack's token: 401 OpenAI-shaped without it", async () => {
    const bare = await fetch(`${stack.originUrl}/metrics`);
    expect(bare.status).toBe(401);
    expect((await bare.json()).error).toMatchObject({ type: 'authentication_error', code: 'authentication_error' });
    const scraped = await fetch(`${stack.originUrl}/metrics`, { headers: { authorization: `Bearer ${stack.originMetricsToken}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('motif_origin_weights_revision');
  });

  it('a request with a wrong signature sent straight to the origin → 401', async () => {
    const body = JSON.stringify({ model: stack.model, messages, max_tokens: 2 });
    const path = '/v1/chat/completions';
    const header = await sign({ method: 'POST', path, requestId: 'forged-1', tenantId: 'dev', body }, { kid: 'k1', secret: 'not-the-real-secret-at-all' });
    const variants: Record<string, string>[] = [{}, { 'x-motif-signature': header }];
    for (const headers of variants) {
      const res = await fetch(`${stack.originUrl}${path}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-request-id': 'forged-1', 'x-tenant-id': 'dev', ...headers },
      });
      expect(res.status).toBe(401);
      expect((await res.json()).error.type).toBe('authentication_error');
    }
  });
});

describe('usage metering', () => {
  it('every request lands in the durable ledger, visible in /v1/usage', async () => {
    // Earlier tests' records may still be on their way (origins batch deliveries for ~0.1 s).
    let before = await usageTotals();
    for (let settled = false; !settled; ) {
      await new Promise((r) => setTimeout(r, 500));
      const again = await usageTotals();
      settled = again.requests === before.requests;
      before = again;
    }
    await client.chat.completions.create({ model: stack.model, messages, max_tokens: 3 });
    const deadline = Date.now() + 15_000;
    let after = before;
    while (Date.now() < deadline && after.requests <= before.requests) {
      await new Promise((r) => setTimeout(r, 250));
      after = await usageTotals();
    }
    expect(after.requests).toBe(before.requests + 1);
    expect(after.completion_tokens).toBeGreaterThan(before.completion_tokens);
  });
});

/** The admin API, as an operator's script calls it. */
async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.edgeUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T & { error?: { message: string } };
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${json.error?.message}`);
  return json;
}

/** A tenant created through the admin API, and an SDK client with a key made for it. */
async function tenantClient(tenant: Record<string, unknown>, key: Record<string, unknown> = {}) {
  await admin('POST', '/admin/tenants', tenant);
  const created = await admin<{ id: string; key: string }>('POST', `/admin/tenants/${tenant.id}/keys`, key);
  return { keyId: created.id, key: created.key, sdk: new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: created.key, maxRetries: 0 }) };
}

describe('keys made with the admin API, through the SDK', () => {
  it('a new key works at once; the answer carries the rate-limit headers; revoked, it is a 401', async () => {
    const t = await tenantClient({ id: 'sdk-acme', limits: { rpm: 100, tpm: 100_000 } });
    expect(t.key).toMatch(/^mtf_live_[A-Za-z0-9]{38,}$/);
    const { data, response } = await t.sdk.chat.completions.create({ model: stack.model, messages, max_tokens: 2 }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('100');
    expect(Number(response.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(100);
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d/);
    await admin('DELETE', `/admin/keys/${t.keyId}`);
    await expect(t.sdk.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('a key without the inference scope → 403 PermissionDeniedError', async () => {
    const t = await tenantClient({ id: 'sdk-reader' }, { scopes: ['usage:read'] });
    await expect(t.sdk.chat.completions.create({ model: stack.model, messages, max_tokens: 2 })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it('404, 413 and 415 come back as the SDK error classes with OpenAI bodies', async () => {
    await expect(client.chat.completions.create({ model: 'no-such-model', messages })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const huge = 'x'.repeat(3 * 1024 * 1024);
    await expect(client.chat.completions.create({ model: stack.model, messages: [{ role: 'user', content: huge }] })).rejects.toMatchObject({
      status: 413,
    });
    const wrongType = client.chat.completions.create({ model: stack.model, messages, max_tokens: 2 }, { headers: { 'content-type': 'text/plain' } });
    await expect(wrongType).rejects.toMatchObject({ status: 415, error: { type: 'invalid_request_error' } });
  });

  it('a tenant over its request rate → 429 RateLimitError with retry-after; over its monthly quota → insufficient_quota', async () => {
    const limited = await tenantClient({ id: 'sdk-rpm', limits: { rpm: 2 } });
    await limited.sdk.models.list();
    const outcomes = await Promise.allSettled([1, 2, 3].map(() => limited.sdk.chat.completions.create({ model: stack.model, messages, max_tokens: 1 })));
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused[0]).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number(refused[0].headers.get('retry-after'))).toBeGreaterThan(0);

    const broke = await tenantClient({ id: 'sdk-quota', quota: { monthly_tokens: 1 } });
    await broke.sdk.chat.completions.create({ model: stack.model, messages, max_tokens: 2 }).catch(() => {});
    let last: unknown;
    const deadline = Date.now() + 15_000;
    // The first request spends the quota once its usage is reconciled; from then on, refused.
    while (Date.now() < deadline) {
      last = await broke.sdk.chat.completions.create({ model: stack.model, messages, max_tokens: 2 }).catch((e: unknown) => e);
      if (last instanceof OpenAI.RateLimitError) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(last).toBeInstanceOf(OpenAI.RateLimitError);
    expect(last).toMatchObject({ status: 429, code: 'insufficient_quota' });
  });
});

async function usageTotals(): Promise<{ requests: number; completion_tokens: number }> {
  const res = await fetch(`${stack.edgeUrl}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: { requests: number; completion_tokens: number }[] };
  return body.data.reduce((a, r) => ({ requests: a.requests + r.requests, completion_tokens: a.completion_tokens + r.completion_tokens }), {
    requests: 0,
    completion_tokens: 0,
  });
}
