/**
 * State that must hold across isolates and across Durable Object evictions: the replay window
 * of signed internal calls and the per-tenant rate-limit counters.
 */
import { abortAllDurableObjects } from 'cloudflare:test';
import { env as cfEnv } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { HEADERS, INTERNAL_PATHS } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, sign } from '#shared/signing.ts';
import { doLimiter, doReplayWindow } from '../../edge/src/adapters/cloudflare/ports.ts';
import { readyHeartbeat } from '../../edge/src/testing/internal-calls.ts';
import { buildWorkerApp, type Env } from '../../edge/src/worker.ts';
import { ORIGIN_OK, WORKERS_NODE_KEY } from './fixtures.ts';
import { admission } from './limits-fixtures.ts';

const env = cfEnv as unknown as Env;

/** A signed heartbeat, built once so it can be sent (replayed) byte for byte. */
async function signedHeartbeat(requestId: string): Promise<Request> {
  const path = INTERNAL_PATHS.heartbeat;
  const body = JSON.stringify(readyHeartbeat('wk-wr-1', 'wk', ORIGIN_OK, 'wr-model'));
  const sig = await sign({ method: 'POST', path, requestId, tenantId: 'wr', body }, WORKERS_NODE_KEY);
  return new Request(`http://edge.test${path}`, {
    method: 'POST',
    body,
    headers: { [HEADERS.requestId]: requestId, [HEADERS.tenantId]: 'wr', [SIGNATURE_HEADER]: sig },
  });
}

describe('replay window of signed internal calls', () => {
  it('refuses a replay sent to another isolate (each isolate builds its own app)', async () => {
    const [isolateA, isolateB] = [await buildWorkerApp(env), await buildWorkerApp(env)];
    const original = await signedHeartbeat(`wr-${crypto.randomUUID()}`);
    expect((await isolateA.fetch(original.clone())).status).toBe(200);
    const replay = await isolateB.fetch(original.clone());
    expect(replay.status).toBe(409);
    expect(await replay.json()).toMatchObject({ error: { code: 'conflict' } });
    expect((await isolateA.fetch(original.clone())).status).toBe(409);
  });

  it('still refuses it after the replay objects are evicted', async () => {
    const window = doReplayWindow(env.REPLAY);
    const id = `wr-${crypto.randomUUID()}`;
    const now = Date.now();
    expect(await window.check(id, now)).toBe(true);
    await abortAllDurableObjects();
    expect(await window.check(id, now + 1)).toBe(false);
    expect(await window.check(`${id}-other`, now + 1)).toBe(true);
  });
});

describe('rate-limit counters', () => {
  it('an evicted and reloaded limiter keeps spent requests, token debt, leases and the month', async () => {
    const limits = { tenantRpm: 2, tenantTpm: 100, maxConcurrent: 1, monthlyTokens: 1000 };
    const limiter = doLimiter(env.LIMITER);
    const now = Date.now();
    expect((await limiter.admit(admission('wd-requests', now, { tenantRpm: 2 }))).allowed).toBe(true);
    expect((await limiter.admit(admission('wd-requests', now, { tenantRpm: 2 }))).allowed).toBe(true);
    const debt = admission('wd-debt', now, limits);
    expect((await limiter.admit(debt)).allowed).toBe(true);
    await limiter.finish('wd-debt', debt.leaseId, 1000, now);
    const open = admission('wd-open', now, { maxConcurrent: 1 });
    expect((await limiter.admit(open)).allowed).toBe(true);
    await abortAllDurableObjects();
    const spent = await limiter.admit(admission('wd-requests', now + 1, { tenantRpm: 2 }));
    expect(spent).toMatchObject({ allowed: false, reason: 'requests' });
    expect(spent.retryAfterMs).toBeGreaterThan(0);
    expect((await limiter.admit(admission('wd-debt', now + 1, { ...limits, tenantTpm: 0 }, 60))).reason).toBe('quota');
    expect((await limiter.admit(admission('wd-debt', now + 1, { ...limits, monthlyTokens: 0 }))).reason).toBe('tokens');
    expect((await limiter.admit(admission('wd-open', now + 1, { maxConcurrent: 1 }))).reason).toBe('concurrency');
    expect((await limiter.admit(admission('wd-fresh', now + 1, limits))).allowed).toBe(true);
  });
});
