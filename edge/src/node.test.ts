import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '#shared/errors.ts';
import { HEADERS, INTERNAL_PATHS } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, sign } from '#shared/signing.ts';
import { PRE_ROUTE_CASES, sendRaw } from '#shared/testing/pre-route-cases.ts';
import { loadEdgeConfig } from './config.ts';
import { startNodeEdge } from './node.ts';
import { createFakeOrigin } from './testing/fake-origin.ts';
import { nodeKey, sseEvents, TEST_PEPPER, TEST_RING, TEST_SIGNING, usageRecord } from './testing/harness.ts';

const DEV_KEY = 'sk-motif-dev-test-0123456789abcdef';
const SECRET = `${TEST_SIGNING.kid}:${TEST_SIGNING.secret}`;
const NODE_KEYS = `${nodeKey('n1').kid}:${nodeKey('n1').secret}@n1`;
let dir: string;
let originServer: Server;
let originUrl: string;
let beats: (ts: number) => ReturnType<ReturnType<typeof createFakeOrigin>['heartbeat']>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'motif-edge-node-'));
  const origin = createFakeOrigin({ replicaId: 'n1', keyring: TEST_RING });
  originServer = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: origin.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server)) as Server;
  });
  originUrl = `http://127.0.0.1:${(originServer.address() as AddressInfo).port}`;
  beats = (ts) => origin.heartbeat({ url: originUrl, ts });
});
afterAll(async () => {
  await new Promise((r) => originServer?.close(r));
  rmSync(dir, { recursive: true, force: true });
});
/** A signed internal call, built once so it can be sent again byte for byte (a replay). */
async function signedCall(path: string, body: unknown): Promise<(base: string) => Promise<Response>> {
  const text = JSON.stringify(body);
  const requestId = crypto.randomUUID();
  const sig = await sign({ method: 'POST', path, requestId, tenantId: 'n1', body: text }, nodeKey('n1'));
  const headers = { 'content-type': 'application/json', [HEADERS.requestId]: requestId, [HEADERS.tenantId]: 'n1', [SIGNATURE_HEADER]: sig };
  return (base) => fetch(base + path, { method: 'POST', body: text, headers });
}
const signedPost = async (base: string, path: string, body: unknown) => (await signedCall(path, body))(base);

describe('startNodeEdge', () => {
  it('serves a stream end to end over loopback and keeps keys and usage across restarts', async () => {
    const config = loadEdgeConfig({
      MOTIF_ORIGIN_SECRET: SECRET,
      MOTIF_KEY_PEPPER: TEST_PEPPER,
      MOTIF_NODE_KEYS: NODE_KEYS,
      MOTIF_DEV_API_KEY: DEV_KEY,
      MOTIF_EDGE_PORT: '0',
      MOTIF_EDGE_DATA_DIR: dir,
    });
    const edge = await startNodeEdge(config, { log: () => {} });
    const heartbeat = await signedCall(INTERNAL_PATHS.heartbeat, beats(Date.now()));
    try {
      expect(edge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await heartbeat(edge.url)).status).toBe(200);
      const res = await fetch(`${edge.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEV_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'motif-test', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      const events = await sseEvents(res);
      expect(events.at(-1)?.data).toBe('[DONE]');
      const ingest = await signedPost(edge.url, INTERNAL_PATHS.usage, { records: [usageRecord({ tenant_id: 'dev', replica_id: 'n1' })] });
      expect(await ingest.json()).toEqual({ accepted: 1, duplicates: 0 });
    } finally {
      await edge.close();
    }
    // Durable: a new process on the same data dir sees the ledger and the (re-seeded) key.
    const again = await startNodeEdge(config, { log: () => {} });
    try {
      const usage = await fetch(`${again.url}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${DEV_KEY}` } });
      expect(((await usage.json()) as { data: { requests: number }[] }).data).toEqual([expect.objectContaining({ group: 'motif-test', requests: 1 })]);
      const dup = await signedPost(again.url, INTERNAL_PATHS.usage, { records: [usageRecord({ tenant_id: 'dev', replica_id: 'n1' })] });
      expect(await dup.json()).toEqual({ accepted: 0, duplicates: 1 });
      // The replay window is in SQLite too: a restart does not reopen it.
      expect((await heartbeat(again.url)).status).toBe(409);
    } finally {
      await again.close();
    }
  });
});

describe('startNodeEdge metrics', () => {
  it('/admin/metrics carries the event-loop delay gauges', async () => {
    const admin = 'admin-token-0123456789abcdef';
    const config = loadEdgeConfig({
      MOTIF_ORIGIN_SECRET: SECRET,
      MOTIF_KEY_PEPPER: TEST_PEPPER,
      MOTIF_NODE_KEYS: NODE_KEYS,
      MOTIF_EDGE_PORT: '0',
      MOTIF_EDGE_DATA_DIR: join(dir, 'metrics'),
      MOTIF_ADMIN_TOKEN: admin,
    });
    const edge = await startNodeEdge(config, { log: () => {}, closeGraceMs: 100 });
    try {
      const text = await (await fetch(`${edge.url}/admin/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
      expect(text).toMatch(/^motif_event_loop_delay_p99_seconds \d/m);
      expect(text).toMatch(/^motif_event_loop_delay_max_seconds \d/m);
    } finally {
      await edge.close();
    }
  });
});

describe('startNodeEdge refusals before the app', () => {
  it.each(PRE_ROUTE_CASES)('$name → $status with OpenAI error JSON', async ({ bytes, status }) => {
    const config = loadEdgeConfig({
      MOTIF_ORIGIN_SECRET: SECRET,
      MOTIF_KEY_PEPPER: TEST_PEPPER,
      MOTIF_NODE_KEYS: NODE_KEYS,
      MOTIF_EDGE_PORT: '0',
      MOTIF_EDGE_DATA_DIR: join(dir, 'refusals'),
    });
    const edge = await startNodeEdge(config, { log: () => {}, closeGraceMs: 100 });
    try {
      const reply = await sendRaw(Number(new URL(edge.url).port), bytes);
      expect(reply.status).toBe(status);
      expect(reply.contentType).toBe('application/json');
      expect(ErrorBody.safeParse(JSON.parse(reply.body)).success, reply.body).toBe(true);
    } finally {
      await edge.close();
    }
  });
});

describe('edge/src/node.ts as a process', () => {
  const entry = fileURLToPath(new URL('./node.ts', import.meta.url));
  // Each case starts Node with the TypeScript loader: on a fresh checkout (its transform cache
  // still empty) of a loaded machine that alone can take more than vitest's default 5 s.
  const STARTUP_MS = 30_000;
  function run(env: Record<string, string>): {
    exit: Promise<number | null>;
    output: () => string;
    url: () => Promise<string>;
    kill: (s: NodeJS.Signals) => void;
  } {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const changed = new Set<() => void>();
    const append = (d: Buffer) => {
      out += d.toString();
      for (const f of changed) f();
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // The listening address, once printed; a process that exits first fails the wait with its output.
    const url = () =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const found = /"url":"(http:[^"]+)"/.exec(out)?.[1];
          if (found) {
            changed.delete(check);
            resolve(found);
          }
        };
        changed.add(check);
        check();
        void exit.then((code) => reject(new Error(`exited (${code}) before printing its URL:\n${out}`)));
      });
    return { exit, output: () => out, url, kill: (s) => child.kill(s) };
  }

  it(
    'exits with a message naming a bad variable',
    async () => {
      const p = run({ MOTIF_ORIGIN_SECRET: SECRET, MOTIF_KEY_PEPPER: TEST_PEPPER, MOTIF_NODE_KEYS: NODE_KEYS, MOTIF_EDGE_PORT: 'nope' });
      expect(await p.exit).toBe(2);
      expect(p.output()).toContain('MOTIF_EDGE_PORT');
    },
    STARTUP_MS,
  );

  it(
    'starts, answers /healthz, and exits 0 on SIGTERM',
    async () => {
      const p = run({
        MOTIF_ORIGIN_SECRET: SECRET,
        MOTIF_KEY_PEPPER: TEST_PEPPER,
        MOTIF_NODE_KEYS: NODE_KEYS,
        MOTIF_EDGE_PORT: '0',
        MOTIF_EDGE_DATA_DIR: join(dir, 'proc'),
      });
      const url = await p.url();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      p.kill('SIGTERM');
      expect(await p.exit).toBe(0);
    },
    STARTUP_MS,
  );
});
