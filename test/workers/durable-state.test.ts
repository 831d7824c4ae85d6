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
import { buildWorkerApp, type Env } from '../../edge/src/worker.ts';
import { ORIGIN_OK, WORKERS_NODE_KEY } from './fixtures.ts';

const env = cfEnv as unknown as Env;

/** A signed heartbeat, built once so it can be sent (replayed) byte for byte. */
async function signedHeartbeat(requestId: string): Promise<Request> {
  const path = INTERNAL_PATHS.heartbeat;
  const body = JSON.stringify({
    replica_id: 'wk-wr-1',
    node_id: 'wk',
    url: ORIGIN_OK,
    model: 'wr-model',
    revision: 'r',
    state: 'ready',
    waiting: 0,
    running: 0,
    max_running: 4,
    kv_usage: 0,
    tokens_per_s: 0,
    ts: Date.now(),
  });
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
  it('an evicted and reloaded limiter keeps spent requests and token debt', async () => {
    const limits = { requestsPerMinute: 2, tokensPerMinute: 100 };
    const limiter = doLimiter(env.LIMITER, limits);
    const now = Date.now();
    expect((await limiter.admit('wd-requests', now)).allowed).toBe(true);
    expect((await limiter.admit('wd-requests', now)).allowed).toBe(true);
    expect((await limiter.admit('wd-debt', now)).allowed).toBe(true);
    await limiter.charge('wd-debt', 1_000, now);
    await abortAllDurableObjects();
    const spent = await limiter.admit('wd-requests', now + 1);
    expect(spent.allowed).toBe(false);
    expect(spent.retryAfterMs).toBeGreaterThan(0);
    expect((await limiter.admit('wd-debt', now + 1)).allowed).toBe(false);
    expect((await limiter.admit('wd-fresh', now + 1)).allowed).toBe(true);
  });
});
