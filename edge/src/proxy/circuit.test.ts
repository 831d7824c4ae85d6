import { describe, expect, it } from 'vitest';
import { type TestEdge, type TestEdgeOptions, testEdge } from '../testing/harness.ts';

const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] };
const ADMIN = 'admin-token-0123456789abcdef';

/** r1 looks idle and r2 busy, so the picker tries r1 first whenever r1 may be tried. */
async function twoReplicas(options: NonNullable<TestEdgeOptions['deps']>['options'] = {}): Promise<TestEdge & { beatAll(): Promise<void> }> {
  const t = await testEdge({ origins: [{ replicaId: 'r1' }, { replicaId: 'r2' }], deps: { options: { adminToken: ADMIN, ...options } } });
  const beatAll = async () => {
    await t.beat(t.origins[0]!);
    await t.beat(t.origins[1]!, { waiting: 5 });
  };
  await beatAll();
  return Object.assign(t, { beatAll });
}

async function circuits(t: TestEdge): Promise<Record<string, string>> {
  const res = await t.app.request('/admin/pool', { headers: { authorization: `Bearer ${ADMIN}` } });
  const data = ((await res.json()) as { data: { replica_id: string; circuit: string }[] }).data;
  return Object.fromEntries(data.map((r) => [r.replica_id, r.circuit]));
}

/** Post `n` requests; their statuses (bodies read, so every in-flight slot is released). */
async function send(t: TestEdge, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await t.post('/v1/chat/completions', chat);
    await res.text();
    out.push(res.status);
  }
  return out;
}

const attempts = (t: TestEdge) => t.origins.map((o) => o.requests.length);

describe('circuit breaker in the proxy', () => {
  it('a replica failing N times is skipped, traffic goes to the healthy one, and after the cooldown one probe restores it', async () => {
    const t = await twoReplicas({ circuitBreaker: { failureThreshold: 3, cooldownMs: 5000 } });
    t.origins[0]!.mode = 'failing';
    expect(await send(t, 3)).toEqual([200, 200, 200]);
    expect(attempts(t)).toEqual([3, 3]);
    expect(await circuits(t)).toEqual({ r1: 'open', r2: 'closed' });

    // Open: r1 is not tried at all.
    expect(await send(t, 2)).toEqual([200, 200]);
    expect(attempts(t)).toEqual([3, 5]);

    t.clock.advance(5000);
    await t.beatAll();
    t.origins[0]!.mode = 'ok';
    expect(await circuits(t)).toEqual({ r1: 'half-open', r2: 'closed' });
    expect(await send(t, 1)).toEqual([200]);
    expect(attempts(t)).toEqual([4, 5]);
    expect(await circuits(t)).toEqual({ r1: 'closed', r2: 'closed' });
    expect(await send(t, 1)).toEqual([200]);
    expect(attempts(t)).toEqual([5, 5]);

    const metrics = await (await t.app.request('/admin/metrics', { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect(metrics).toContain('motif_edge_replica_circuits{state="closed"} 2');
  });

  it('a failed probe reopens the circuit for twice the cooldown', async () => {
    const t = await twoReplicas({ circuitBreaker: { failureThreshold: 1, cooldownMs: 2000 } });
    t.origins[0]!.mode = 'failing';
    expect(await send(t, 1)).toEqual([200]);
    t.clock.advance(2000);
    await t.beatAll();
    expect(await send(t, 1)).toEqual([200]); // the probe fails, r2 serves
    expect(attempts(t)).toEqual([2, 2]);
    t.clock.advance(2000);
    await t.beatAll();
    expect(await circuits(t)).toEqual({ r1: 'open', r2: 'closed' });
    expect(await send(t, 1)).toEqual([200]);
    expect(attempts(t)).toEqual([2, 3]);
  });

  it("every replica's circuit open → 503 with retry-after, and the origin is not asked", async () => {
    const t = await testEdge({
      origins: [{ replicaId: 'r1', mode: 'failing' }],
      deps: { options: { circuitBreaker: { failureThreshold: 2, cooldownMs: 4500 } } },
    });
    await t.beat(t.origins[0]!);
    expect(await send(t, 2)).toEqual([503, 503]);
    const res = await t.post('/v1/chat/completions', chat);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toMatchObject({ error: { code: 'origin_unavailable', type: 'server_error' } });
    expect(t.origins[0]!.requests).toHaveLength(2);
  });

  it('a replica at capacity (503 with retry-after) is failed over but not tripped: busy is not sick', async () => {
    const t = await twoReplicas({ circuitBreaker: { failureThreshold: 2 } });
    t.origins[0]!.mode = 'unavailable';
    expect(await send(t, 4)).toEqual([200, 200, 200, 200]);
    expect(attempts(t)).toEqual([4, 4]);
    expect(await circuits(t)).toEqual({ r1: 'closed', r2: 'closed' });
  });

  it('a server error (500) before the first byte is tried on the next replica and counts against the circuit', async () => {
    const t = await twoReplicas({ circuitBreaker: { failureThreshold: 2 } });
    t.origins[0]!.mode = 'server-error';
    expect(await send(t, 2)).toEqual([200, 200]);
    expect(attempts(t)).toEqual([2, 2]);
    expect(await circuits(t)).toEqual({ r1: 'open', r2: 'closed' });
  });

  it('when every replica fails with a server error, the last error is the answer, not a 503', async () => {
    const t = await twoReplicas({ circuitBreaker: { failureThreshold: 100 } });
    for (const o of t.origins) o.mode = 'server-error';
    const res = await t.post('/v1/chat/completions', chat);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: { type: 'server_error', message: 'engine fault on r2' } });
    expect(attempts(t)).toEqual([1, 1]);
  });

  it("a client's 4xx does not count as the replica failing", async () => {
    const t = await twoReplicas({ circuitBreaker: { failureThreshold: 2 } });
    t.origins[0]!.mode = 'reject-400';
    expect(await send(t, 3)).toEqual([400, 400, 400]);
    expect(attempts(t)).toEqual([3, 0]);
    expect(await circuits(t)).toEqual({ r1: 'closed', r2: 'closed' });
  });
});

describe('retry budget in the proxy', () => {
  it('once retries are spent, no further replica is tried: 503 with retry-after until the window slides', async () => {
    const t = await twoReplicas({ retryBudget: { ratio: 0, minRetries: 1, windowMs: 10_000 }, circuitBreaker: { failureThreshold: 100 } });
    t.origins[0]!.mode = 'failing';
    expect(await send(t, 1)).toEqual([200]); // the one retry in the window
    const res = await t.post('/v1/chat/completions', chat);
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toMatchObject({ error: { code: 'origin_unavailable' } });
    expect(attempts(t)).toEqual([2, 1]);
    expect(t.logs.some((l) => l.includes('retry budget exhausted'))).toBe(true);

    t.clock.advance(10_000);
    await t.beatAll();
    expect(await send(t, 1)).toEqual([200]);
    expect(attempts(t)).toEqual([3, 2]);
  });
});
