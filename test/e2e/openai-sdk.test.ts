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

beforeAll(async () => {
  stack = await startTestStack();
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
    const before = await usageTotals();
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

async function usageTotals(): Promise<{ requests: number; completion_tokens: number }> {
  const res = await fetch(`${stack.edgeUrl}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: { requests: number; completion_tokens: number }[] };
  return body.data.reduce((a, r) => ({ requests: a.requests + r.requests, completion_tokens: a.completion_tokens + r.completion_tokens }), {
    requests: 0,
    completion_tokens: 0,
  });
}
