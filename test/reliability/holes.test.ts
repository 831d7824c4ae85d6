/**
 * The probes of issue 14's holes against the real stack: an unsigned 512 MiB chunked upload must
 * not grow the origin's memory (hole 1), and no heartbeat a node key may not send — future-dated,
 * for another node's replica, pointing outside the allow-list, or signed with the other
 * direction's key — changes routing (hole 2). The long-prompt probe (hole 3) is long-prompt.test.ts.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS, INTERNAL_PATHS } from '#shared/protocol.ts';
import { parseKeyring, SIGNATURE_HEADER, sign } from '#shared/signing.ts';
import { rssMb } from '../../scripts/stack/proc-stats.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { recordFigure } from './figures.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.dispose();
});

/** Stream `totalMiB` of zeros as a chunked POST (no content-length, no signature); resolves with the status, if any. */
function chunkedUpload(url: string, totalMiB: number): Promise<{ status?: number; sentMiB: number }> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(1024 * 1024);
    let sent = 0;
    let status: number | undefined;
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      status = res.statusCode;
      res.resume();
      res.on('end', () => {
        req.destroy();
        resolve({ status, sentMiB: sent });
      });
    });
    req.on('error', () => resolve({ status, sentMiB: sent }));
    const pump = () => {
      while (sent < totalMiB) {
        sent++;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('hole 1: an unsigned chunked upload is bounded', () => {
  it('512 MiB chunked at the origin: 413, RSS within +64 MB', async () => {
    const pid = stack.origin.child.pid!;
    const before = rssMb(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
    const result = await chunkedUpload(`${stack.originUrl}/v1/completions`, 512);
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(pid));
    const growth = Math.round(peak - before);
    recordFigure({ group: 'holes', name: '512 MiB chunked upload: origin RSS growth (MB)', value: growth, bound: '<= 64', ok: growth <= 64 });
    recordFigure({ group: 'holes', name: '512 MiB chunked upload: status', value: result.status ?? 'closed', bound: '413' });
    expect(result.status).toBe(413);
    expect(growth).toBeLessThanOrEqual(64);
  });
});

describe('hole 2: heartbeats speak only for their own node', () => {
  const beatBody = (o: Record<string, unknown>) => ({
    replica_id: 'local-0',
    node_id: 'local',
    url: stack.originUrl,
    model: stack.model,
    revision: 'forged',
    state: 'draining',
    waiting: 0,
    running: 0,
    max_running: 1,
    kv_usage: 0,
    tokens_per_s: 0,
    ts: Date.now(),
    ...o,
  });
  async function post(body: unknown, key: { kid: string; secret: string }): Promise<number> {
    const text = JSON.stringify(body);
    const requestId = `probe-${crypto.randomUUID()}`;
    const headers = { 'content-type': 'application/json', [HEADERS.requestId]: requestId, [HEADERS.tenantId]: 'probe' };
    const sig = await sign({ method: 'POST', path: INTERNAL_PATHS.heartbeat, requestId, tenantId: 'probe', body: text }, key);
    return (await fetch(stack.edgeUrl + INTERNAL_PATHS.heartbeat, { method: 'POST', body: text, headers: { ...headers, [SIGNATURE_HEADER]: sig } })).status;
  }
  async function routingUnchanged(): Promise<boolean> {
    const health = (await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { replicas: { ready: number } };
    const res = await fetch(`${stack.edgeUrl}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: stack.model, prompt: 'hello', max_tokens: 2 }),
    });
    await res.body?.cancel();
    return health.replicas.ready === 1 && res.status === 200;
  }

  it('forged beats are refused and routing is unchanged', async () => {
    const nodeKey = parseKeyring(stack.nodeKey).signing;
    const edgeKey = parseKeyring(stack.originSecret).signing;
    const probes: [string, unknown, { kid: string; secret: string }, number][] = [
      ['future-dated (ts + 1 h)', beatBody({ ts: Date.now() + 3_600_000 }), nodeKey, 400],
      ["another node's replica", beatBody({ replica_id: 'other-0', node_id: 'other' }), nodeKey, 403],
      ['url outside the allow-list', beatBody({ url: 'http://203.0.113.1:4681', state: 'ready' }), nodeKey, 403],
      ['signed with the edge → origin key', beatBody({}), edgeKey, 401],
    ];
    for (const [name, body, key, want] of probes) {
      const status = await post(body, key);
      const unchanged = await routingUnchanged();
      recordFigure({
        group: 'holes',
        name: `heartbeat ${name}: status, routing unchanged`,
        value: `${status}, ${unchanged}`,
        bound: `${want}, true`,
        ok: status === want && unchanged,
      });
      expect(status, name).toBe(want);
      expect(unchanged, name).toBe(true);
    }
  });
});
