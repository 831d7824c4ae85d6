/**
 * The response cache on the Worker (workerd): the Cache API of the data centre as the store,
 * coalescing within the isolate, hits metered in the tenant's ledger Durable Object.
 */
import { exports as cfExports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '#shared/protocol.ts';
import { readSse } from '#shared/sse.ts';
import { readyHeartbeat, signedInternalRequest } from '../../edge/src/testing/internal-calls.ts';
import { ORIGIN_COUNTING, WORKERS_ADMIN_TOKEN, WORKERS_NODE_KEY } from './fixtures.ts';

const worker = (cfExports as unknown as { default: { fetch(req: Request): Promise<Response> } }).default;
const BASE = 'http://edge.test';

function request(method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const h = new Headers({ 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers });
  return worker.fetch(new Request(BASE + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) }));
}

async function beat(model: string): Promise<void> {
  const hb = readyHeartbeat('wk-count', 'wk', ORIGIN_COUNTING, model);
  expect((await worker.fetch(await signedInternalRequest(BASE + INTERNAL_PATHS.heartbeat, hb, WORKERS_NODE_KEY, 'wk'))).status).toBe(200);
}

async function generations(): Promise<number> {
  return ((await (await fetch(`${ORIGIN_COUNTING}/__generations`)).json()) as { generations: number }).generations;
}

async function tenantKey(tenant: string): Promise<string> {
  await request('POST', '/admin/tenants', WORKERS_ADMIN_TOKEN, { id: tenant });
  return ((await (await request('POST', `/admin/tenants/${tenant}/keys`, WORKERS_ADMIN_TOKEN, {})).json()) as { key: string }).key;
}

const body = (model: string, o: Record<string, unknown> = {}) => ({ model, temperature: 0, messages: [{ role: 'user', content: 'hi' }], ...o });

async function textOf(res: Response): Promise<{ text: string; done: boolean }> {
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const j = (await res.json()) as { choices: { message: { content: string } }[] };
    return { text: j.choices[0]!.message.content, done: false };
  }
  let text = '';
  let done = false;
  for await (const ev of readSse(res.body!)) {
    if (ev.data === '[DONE]') done = true;
    else for (const c of (JSON.parse(ev.data) as { choices: { delta: { content?: string } }[] }).choices) text += c.delta.content ?? '';
  }
  return { text, done };
}

describe('response cache on the Worker', () => {
  it('miss then hit; a stream hit replays the same text and [DONE]; no-store bypasses', async () => {
    const model = 'wk-cache-a';
    await beat(model);
    const key = await tenantKey('wk-cache-a');
    const before = await generations();
    const miss = await request('POST', '/v1/chat/completions', key, body(model, { stream: true }));
    expect(miss.headers.get('x-cache')).toBe('MISS');
    const first = await textOf(miss);
    const hit = await request('POST', '/v1/chat/completions', key, body(model, { stream: true }));
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(await textOf(hit)).toEqual({ text: first.text, done: true });
    const json = await request('POST', '/v1/chat/completions', key, body(model));
    expect([json.headers.get('x-cache'), (await textOf(json)).text]).toEqual(['HIT', first.text]);
    expect((await generations()) - before).toBe(1);
    const bypass = await request('POST', '/v1/chat/completions', key, body(model), { 'cache-control': 'no-store' });
    expect(bypass.headers.get('x-cache')).toBe('BYPASS');
    await bypass.text();
    expect((await generations()) - before).toBe(2);
    // Hit records are written behind the answer (waitUntil): poll for them.
    await expect
      .poll(async () => ((await (await request('GET', '/v1/usage?group_by=model', key)).json()) as { data: { cache_hits: number }[] }).data[0]?.cache_hits, {
        timeout: 10_000,
      })
      .toBe(2);
  });

  it('two tenants sending the same request never see each other’s entry', async () => {
    const model = 'wk-cache-b';
    await beat(model);
    const [a, b] = [await tenantKey('wk-cache-b1'), await tenantKey('wk-cache-b2')];
    const seen: (string | null)[] = [];
    for (const key of [a, b, a, b]) {
      const res = await request('POST', '/v1/chat/completions', key, body(model));
      seen.push(res.headers.get('x-cache'));
      await res.text();
    }
    expect(seen).toEqual(['MISS', 'MISS', 'HIT', 'HIT']);
  });

  it('50 concurrent identical requests cause exactly one origin generation', async () => {
    const model = 'wk-cache-c';
    await beat(model);
    const key = await tenantKey('wk-cache-c');
    const before = await generations();
    const answers = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const res = await request('POST', '/v1/chat/completions', key, body(model, { seed: 11 }));
        return { status: res.status, cache: res.headers.get('x-cache'), text: (await textOf(res)).text };
      }),
    );
    expect((await generations()) - before).toBe(1);
    expect(answers.every((x) => x.status === 200 && x.text === 'Hello world')).toBe(true);
    expect(answers.filter((x) => x.cache === 'MISS')).toHaveLength(1);
  });
});
