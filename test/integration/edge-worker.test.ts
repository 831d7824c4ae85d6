/**
 * The edge as a real Worker in workerd (wrangler's `unstable_startWorker`, offline, inspector
 * off) in front of fake origins listening on loopback: a chat completion streams through workerd
 * with the official SDK, a refused connection fails over, and an origin dying mid-stream reaches
 * the client as an SSE error event without [DONE].
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HEADERS, INTERNAL_PATHS } from '#shared/protocol.ts';
import { parseKeyring, SIGNATURE_HEADER, sign } from '#shared/signing.ts';
import { readSse } from '#shared/sse.ts';
import { createFakeOrigin, type FakeOrigin } from '../../edge/src/testing/fake-origin.ts';
import { readyHeartbeat } from '../../edge/src/testing/internal-calls.ts';

process.env.WRANGLER_SEND_METRICS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

const SECRET = 'k1:integration-secret-0123456789';
const API_KEY = 'sk-motif-dev-integration-0123456789';
const { ring } = parseKeyring(SECRET);
/** Node `int`'s own key (origin → edge); its replicas are `int-…`. */
const NODE_KEY = { kid: 'int-node', secret: 'integration-node-secret-0123456789' };

type Started = { url: string; dispose(): Promise<void> };
let worker: Started;
const servers: Server[] = [];

async function listen(origin: FakeOrigin): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: origin.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server)) as Server;
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback port with nothing listening (connections are refused). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function beat(replica: string, url: string, model: string, waiting = 0): Promise<void> {
  const body = JSON.stringify(readyHeartbeat(replica, 'int', url, model, { waiting }));
  const requestId = crypto.randomUUID();
  const sig = await sign({ method: 'POST', path: INTERNAL_PATHS.heartbeat, requestId, tenantId: replica, body }, NODE_KEY);
  const res = await fetch(worker.url + INTERNAL_PATHS.heartbeat, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', [HEADERS.requestId]: requestId, [HEADERS.tenantId]: replica, [SIGNATURE_HEADER]: sig },
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

beforeAll(async () => {
  const { unstable_startWorker } = await import('wrangler');
  const w = await unstable_startWorker({
    config: fileURLToPath(new URL('../../infra/cloudflare/wrangler.jsonc', import.meta.url)),
    bindings: {
      MOTIF_ORIGIN_SECRET: { type: 'plain_text', value: SECRET },
      MOTIF_NODE_KEYS: { type: 'plain_text', value: `${NODE_KEY.kid}:${NODE_KEY.secret}@int` },
      MOTIF_DEV_API_KEY: { type: 'plain_text', value: API_KEY },
      MOTIF_KEY_PEPPER: { type: 'plain_text', value: 'integration-worker-key-pepper-0123456789' },
    },
    dev: { inspector: false, server: { hostname: '127.0.0.1', port: 0 }, persist: false, watch: false, logLevel: 'warn' },
  });
  await w.ready;
  worker = { url: (await w.url).origin, dispose: () => w.dispose() };
});

afterAll(async () => {
  await worker?.dispose();
  await Promise.all(
    servers.map(
      (s) =>
        new Promise((r) => {
          s.closeAllConnections();
          s.close(r);
        }),
    ),
  );
});

it('streams a chat completion through workerd with the openai SDK, failing over from a dead replica', async () => {
  const origin = createFakeOrigin({ replicaId: 'int-ok', keyring: ring, model: 'int-model', pieces: ['Hello', ' from', ' the', ' origin'] });
  const url = await listen(origin);
  await beat('int-dead', `http://127.0.0.1:${await closedPort()}`, 'int-model', 0);
  await beat('int-ok', url, 'int-model', 5);

  const client = new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  const stream = await client.chat.completions.create({
    model: 'int-model',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'hi' }],
  });
  let text = '';
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    usage = chunk.usage ?? usage;
  }
  expect(text).toBe('Hello from the origin');
  expect(usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
  // The dead replica was tried first (least loaded) and the request still landed on the live one.
  expect(origin.requests).toHaveLength(1);
  expect(origin.requests[0]!.headers['x-tenant-id']).toBe('dev');

  await expect(new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: 'sk-motif-wrong-0000000000', maxRetries: 0 }).models.list()).rejects.toMatchObject({
    status: 401,
  });
});

it('an origin dying mid-stream reaches the client as an SSE error event, without [DONE]', async () => {
  const origin = createFakeOrigin({ replicaId: 'int-die', keyring: ring, model: 'int-die-model', mode: 'die-mid-stream' });
  await beat('int-die', await listen(origin), 'int-die-model');
  const res = await fetch(`${worker.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'int-die-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  expect(res.status).toBe(200);
  const events = [];
  for await (const ev of readSse(res.body!)) events.push(ev);
  expect(events.some((e) => e.data === '[DONE]')).toBe(false);
  expect(events.at(-1)?.event).toBe('error');
  expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ error: { type: 'server_error' } });
});
