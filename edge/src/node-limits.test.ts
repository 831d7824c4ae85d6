/**
 * Exact limits on the Node edge: state in `<dataDir>/limits.sqlite`. Two real edge processes on
 * one data dir (scope `shared`) split 30 parallel requests and admit exactly the tenant's 10 per
 * minute; a second solo edge cannot start beside a first; a started edge enforces the concurrency cap, charges
 * an aborted stream from its usage record and answers `insufficient_quota` past the month's tokens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS, INTERNAL_PATHS } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, sign } from '#shared/signing.ts';
import { loadEdgeConfig } from './config.ts';
import { startNodeEdge } from './node.ts';
import { createFakeOrigin, type FakeOrigin } from './testing/fake-origin.ts';
import { nodeKey, TEST_PEPPER, TEST_RING, TEST_SIGNING, usageRecord } from './testing/harness.ts';

const DEV_KEY = 'sk-motif-dev-limits-0123456789abcdef';
const BASE_ENV = {
  MOTIF_ORIGIN_SECRET: `${TEST_SIGNING.kid}:${TEST_SIGNING.secret}`,
  MOTIF_NODE_KEYS: `${nodeKey('n1').kid}:${nodeKey('n1').secret}@n1`,
  MOTIF_DEV_API_KEY: DEV_KEY,
  MOTIF_KEY_PEPPER: TEST_PEPPER,
  MOTIF_EDGE_PORT: '0',
};
const dirs: string[] = [];
const servers: Server[] = [];
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'motif-edge-limits-'));
  dirs.push(d);
  return d;
};

async function serveOrigin(mode: 'ok' | 'hang'): Promise<{ origin: FakeOrigin; url: string }> {
  const origin = createFakeOrigin({ replicaId: 'n1', keyring: TEST_RING, mode });
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: origin.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server)) as Server;
  });
  servers.push(server);
  return { origin, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function signedPost(base: string, path: string, body: unknown): Promise<Response> {
  const text = JSON.stringify(body);
  const requestId = crypto.randomUUID();
  const sig = await sign({ method: 'POST', path, requestId, tenantId: 'n1', body: text }, nodeKey('n1'));
  return fetch(base + path, {
    method: 'POST',
    body: text,
    headers: { 'content-type': 'application/json', [HEADERS.requestId]: requestId, [HEADERS.tenantId]: 'n1', [SIGNATURE_HEADER]: sig },
  });
}

const chat = (base: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    signal,
    headers: { authorization: `Bearer ${DEV_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'motif-test', messages: [{ role: 'user', content: 'hi' }], ...extra }),
  });

let ok: { origin: FakeOrigin; url: string };
beforeAll(async () => {
  ok = await serveOrigin('ok');
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('two Node edge processes sharing one data dir', () => {
  const entry = fileURLToPath(new URL('./node.ts', import.meta.url));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGTERM');
  });

  async function startProcess(env: Record<string, string>): Promise<string> {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 300; i++) {
      const url = /"url":"(http:[^"]+)"/.exec(out)?.[1];
      if (url) return url;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`edge did not start: ${out}`);
  }

  it('30 parallel requests against a tenant limit of 10/min: exactly 10 succeed across both', async () => {
    const env = { ...BASE_ENV, MOTIF_EDGE_DATA_DIR: dataDir(), MOTIF_EDGE_RPM: '10', MOTIF_EDGE_LIMITS_SCOPE: 'shared' };
    const edges = [await startProcess(env), await startProcess(env)];
    for (const e of edges) expect((await signedPost(e, INTERNAL_PATHS.heartbeat, ok.origin.heartbeat({ url: ok.url, ts: Date.now() }))).status).toBe(200);
    const res = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(edges[i % 2]!)));
    const statuses = res.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    for (const r of res) expect(r.headers.get('x-ratelimit-limit-requests')).toBe('10');
    await Promise.all(res.map((r) => r.text()));
  }, 30_000);

  it('a key revoked through one edge process is refused by the other at once (its key cache asks first)', async () => {
    const admin = 'admin-token-for-two-processes-0123456789';
    const env = { ...BASE_ENV, MOTIF_EDGE_DATA_DIR: dataDir(), MOTIF_EDGE_LIMITS_SCOPE: 'shared', MOTIF_ADMIN_TOKEN: admin };
    const [a, b] = [await startProcess(env), await startProcess(env)];
    for (const e of [a, b]) await signedPost(e, INTERNAL_PATHS.heartbeat, ok.origin.heartbeat({ url: ok.url, ts: Date.now() }));
    const asAdmin = (base: string, path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method: body === undefined ? 'DELETE' : 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await asAdmin(a, '/admin/tenants', { id: 'acme' })).status).toBe(201);
    const created = (await (await asAdmin(a, '/admin/tenants/acme/keys', {})).json()) as { id: string; key: string };
    const call = (base: string) =>
      fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${created.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] }),
      });
    const before = await call(b);
    expect(before.status).toBe(200); // b has it cached now
    await before.text();
    expect((await asAdmin(a, `/admin/keys/${created.id}`)).status).toBe(200);
    const after = await call(b);
    expect(after.status).toBe(401);
    await after.text();
  }, 30_000);

  it('a second solo edge on the host refuses to start, naming the setting, and so does a shared one beside a solo one', async () => {
    const env = { ...BASE_ENV, MOTIF_EDGE_DATA_DIR: dataDir() };
    await startProcess(env);
    for (const scope of ['solo', 'shared']) {
      const child = spawn(process.execPath, ['--import', 'tsx', entry], {
        env: { PATH: process.env.PATH ?? '', ...env, MOTIF_EDGE_LIMITS_SCOPE: scope },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code).not.toBe(0);
      expect(out).toContain('MOTIF_EDGE_LIMITS_SCOPE');
    }
  }, 30_000);
});

describe('a Node edge enforcing concurrency and the monthly quota', () => {
  it('a concurrency cap of 2 admits exactly 2 of 10 long streams', async () => {
    const hang = await serveOrigin('hang');
    const config = loadEdgeConfig({ ...BASE_ENV, MOTIF_EDGE_DATA_DIR: dataDir(), MOTIF_EDGE_MAX_CONCURRENT: '2' });
    const edge = await startNodeEdge(config, { log: () => {}, closeGraceMs: 100 });
    const abort = new AbortController();
    try {
      await signedPost(edge.url, INTERNAL_PATHS.heartbeat, hang.origin.heartbeat({ url: hang.url, ts: Date.now() }));
      const res = await Promise.all(Array.from({ length: 10 }, () => chat(edge.url, { stream: true }, abort.signal)));
      expect(res.filter((r) => r.status === 200)).toHaveLength(2);
      const refused = res.filter((r) => r.status === 429);
      expect(refused).toHaveLength(8);
      expect(await refused[0]!.json()).toMatchObject({ error: { code: 'rate_limit_exceeded', message: expect.stringContaining('concurrent requests') } });
    } finally {
      abort.abort();
      await edge.close();
    }
  });

  it('an aborted stream is charged what it generated (usage record); past the month: insufficient_quota', async () => {
    const hang = await serveOrigin('hang');
    const config = loadEdgeConfig({ ...BASE_ENV, MOTIF_EDGE_DATA_DIR: dataDir(), MOTIF_EDGE_MONTHLY_TOKENS: '200' });
    const edge = await startNodeEdge(config, { log: () => {}, closeGraceMs: 100 });
    try {
      await signedPost(edge.url, INTERNAL_PATHS.heartbeat, hang.origin.heartbeat({ url: hang.url, ts: Date.now() }));
      const abort = new AbortController();
      const stream = await chat(edge.url, { stream: true, max_tokens: 195 }, abort.signal); // reserves 200: the month
      expect(stream.status).toBe(200);
      const reader = stream.body!.getReader();
      await reader.read();
      abort.abort();
      await new Promise((r) => setTimeout(r, 100));
      // Still reserved (no usage seen): the month is promised, so the next is refused.
      const over = await chat(edge.url, { max_tokens: 10 });
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBeNull();
      expect(await over.json()).toMatchObject({ error: { code: 'insufficient_quota', type: 'insufficient_quota' } });
      const requestId = hang.origin.requests[0]!.headers[HEADERS.requestId]!;
      const record = usageRecord({ request_id: requestId, tenant_id: 'dev', replica_id: 'n1', prompt_tokens: 5, completion_tokens: 2, outcome: 'abort' });
      expect((await signedPost(edge.url, INTERNAL_PATHS.usage, { records: [record] })).status).toBe(200);
      // Charged the 7 it generated, not its 200: requests fit again.
      await signedPost(edge.url, INTERNAL_PATHS.heartbeat, ok.origin.heartbeat({ url: ok.url, ts: Date.now(), replica_id: 'n1' }));
      const fits = await chat(edge.url, { max_tokens: 10 });
      expect(fits.status).toBe(200);
      await fits.text();
    } finally {
      await edge.close();
    }
  });
});
