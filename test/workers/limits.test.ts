/**
 * Exact limits on the Worker: every request goes through the real app and the per-tenant
 * LimiterDO, each call on a separately built app (as separate isolates would be). Limits come
 * from the edge defaults (MOTIF_EDGE_*), each test on its own tenant.
 */
import { env as cfEnv } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { HEADERS, type Heartbeat, INTERNAL_PATHS } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, sign } from '#shared/signing.ts';
import { doKeyStore, doLimiter } from '../../edge/src/adapters/cloudflare/ports.ts';
import { pepperedKeyHasher } from '../../edge/src/keys/key-hash.ts';
import { seededKeyRecord } from '../../edge/src/keys/key-record.ts';
import { usageRecord } from '../../edge/src/testing/harness.ts';
import { readyHeartbeat } from '../../edge/src/testing/internal-calls.ts';
import { buildWorkerApp, type Env } from '../../edge/src/worker.ts';
import { ORIGIN_HANG, ORIGIN_OK, WORKERS_NODE_KEY, WORKERS_PEPPER } from './fixtures.ts';
import { admission } from './limits-fixtures.ts';

const env = cfEnv as unknown as Env;
const BASE = 'http://edge.test';

/** Build `n` apps ("isolates") with these limit defaults and a fresh tenant with its own key. */
async function isolates(n: number, vars: Record<string, string>) {
  const tenant = `wl-${crypto.randomUUID().slice(0, 8)}`;
  const secret = `sk-motif-${tenant}-0123456789abcdef`;
  await doKeyStore(env.KEYS).putKey(await seededKeyRecord(secret, { tenantId: tenant, createdAt: Date.now() }, pepperedKeyHasher(WORKERS_PEPPER)));
  const apps = await Promise.all(Array.from({ length: n }, () => buildWorkerApp({ ...env, ...vars } as Env)));
  const call = (i: number, body: unknown) =>
    apps[i % n]!.fetch(
      new Request(`${BASE}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      }),
    );
  return { tenant, call, apps };
}

async function signedPost(app: { fetch(r: Request): Response | Promise<Response> }, path: string, body: unknown): Promise<Response> {
  const text = JSON.stringify(body);
  const requestId = crypto.randomUUID();
  const sig = await sign({ method: 'POST', path, requestId, tenantId: 'wk', body: text }, WORKERS_NODE_KEY);
  return app.fetch(
    new Request(BASE + path, { method: 'POST', body: text, headers: { [HEADERS.requestId]: requestId, [HEADERS.tenantId]: 'wk', [SIGNATURE_HEADER]: sig } }),
  );
}

function heartbeat(replica: string, url: string, model: string): Heartbeat {
  return readyHeartbeat(replica, 'wk', url, model, { max_running: 64 });
}

const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('limits on the Worker (LimiterDO per tenant)', () => {
  it('30 parallel requests over 3 isolates against 10 requests/min: exactly 10 succeed', async () => {
    const { call, apps } = await isolates(3, { MOTIF_EDGE_RPM: '10' });
    expect((await signedPost(apps[0]!, INTERNAL_PATHS.heartbeat, heartbeat('wk-l-rpm', ORIGIN_OK, 'wl-rpm'))).status).toBe(200);
    const res = await Promise.all(Array.from({ length: 30 }, (_, i) => call(i, chat('wl-rpm'))));
    expect(res.filter((r) => r.status === 200)).toHaveLength(10);
    expect(res.filter((r) => r.status === 429)).toHaveLength(20);
    for (const r of res) expect(r.headers.get('x-ratelimit-limit-requests')).toBe('10');
    expect(res.find((r) => r.status === 429)!.headers.get('retry-after')).not.toBeNull();
    await Promise.all(res.map((r) => r.body?.cancel()));
  });

  it('a concurrency cap of 2 admits exactly 2 of 10 long streams', async () => {
    const { call, apps } = await isolates(2, { MOTIF_EDGE_MAX_CONCURRENT: '2' });
    await signedPost(apps[0]!, INTERNAL_PATHS.heartbeat, heartbeat('wk-l-hang', ORIGIN_HANG, 'wl-hang'));
    const res = await Promise.all(Array.from({ length: 10 }, (_, i) => call(i, chat('wl-hang', { stream: true }))));
    expect(res.filter((r) => r.status === 200)).toHaveLength(2);
    const refused = res.filter((r) => r.status === 429);
    expect(refused).toHaveLength(8);
    expect(await refused[0]!.json()).toMatchObject({ error: { code: 'rate_limit_exceeded', message: expect.stringContaining('concurrent requests') } });
    await Promise.all(res.filter((r) => r.status === 200).map((r) => r.body?.cancel()));
  });

  it('a tenant over its monthly quota gets 429 insufficient_quota', async () => {
    const { call, apps } = await isolates(2, { MOTIF_EDGE_MONTHLY_TOKENS: '40' });
    await signedPost(apps[0]!, INTERNAL_PATHS.heartbeat, heartbeat('wk-l-quota', ORIGIN_OK, 'wl-quota'));
    // Each request uses 8: after 5 the month's 40 are spent.
    for (let i = 0; i < 5; i++) expect((await call(i, chat('wl-quota', { max_tokens: 10 }))).status).toBe(200);
    const over = await call(0, chat('wl-quota', { max_tokens: 10 }));
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBeNull();
    expect(await over.json()).toMatchObject({ error: { code: 'insufficient_quota', type: 'insufficient_quota' } });
  });

  it('an aborted stream (lease released without usage) is charged from the usage record', async () => {
    const { tenant, apps } = await isolates(1, {});
    const limiter = doLimiter(env.LIMITER);
    const now = Date.now();
    const lease = admission(tenant, now, { monthlyTokens: 100 }, 90);
    expect((await limiter.admit(lease)).allowed).toBe(true);
    await limiter.finish(tenant, lease.leaseId, null, now); // what the edge does when a client aborts
    const record = usageRecord({ request_id: lease.leaseId, tenant_id: tenant, replica_id: 'wk-ok', prompt_tokens: 5, completion_tokens: 7 });
    expect((await signedPost(apps[0]!, INTERNAL_PATHS.usage, { records: [record] })).status).toBe(200);
    // 12 charged, the rest of the 90 reserved refunded: 87 more leave one token, then it is spent.
    expect((await limiter.admit(admission(tenant, now, { monthlyTokens: 100 }, 87))).allowed).toBe(true);
    expect((await limiter.admit(admission(tenant, now, { monthlyTokens: 100 }, 1))).allowed).toBe(true);
    expect(await limiter.admit(admission(tenant, now, { monthlyTokens: 100 }, 1))).toMatchObject({ reason: 'quota', detail: { used: 100 } });
  });
});
