/**
 * Draining a replica through the admin API, in-process: new requests avoid it while a stream it
 * is already serving finishes, heartbeats do not undo it, undrain brings it back, and /healthz,
 * /admin/pool and /v1/models agree with the router.
 */
import { describe, expect, it } from 'vitest';
import { SSE_DONE } from '#shared/sse.ts';
import { TEST_KEY, type TestEdge, testEdge } from '../../testing/harness.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] };

/** r1 looks idle and r2 busy, so the picker sends every request to r1 while r1 is in rotation. */
async function twoReplicas(): Promise<TestEdge & { beatAll(): Promise<void> }> {
  const t = await testEdge({ origins: [{ replicaId: 'r1' }, { replicaId: 'r2' }], deps: { options: { adminToken: ADMIN } } });
  const beatAll = async () => {
    await t.beat(t.origins[0]!);
    await t.beat(t.origins[1]!, { waiting: 5 });
  };
  await beatAll();
  return Object.assign(t, { beatAll });
}

const admin = (t: TestEdge, method: string, path: string, token = ADMIN) => t.app.request(path, { method, headers: { authorization: `Bearer ${token}` } });
const served = (t: TestEdge) => t.origins.map((o) => o.requests.length);

async function send(t: TestEdge, n: number, body: object = chat): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await t.post('/v1/chat/completions', body);
    await res.text();
    out.push(res.status);
  }
  return out;
}

async function pool(t: TestEdge): Promise<Record<string, { in_rotation: boolean; drained_at: number | null; waiting: number }>> {
  const data = (
    (await (await admin(t, 'GET', '/admin/pool')).json()) as {
      data: { replica_id: string; in_rotation: boolean; drained_at: number | null; waiting: number }[];
    }
  ).data;
  return Object.fromEntries(data.map(({ replica_id, in_rotation, drained_at, waiting }) => [replica_id, { in_rotation, drained_at, waiting }]));
}

describe('admin: drain a replica', () => {
  it('drain r1: a stream running on r1 finishes to [DONE] while every new request goes to r2; zero failures', async () => {
    const t = await twoReplicas();
    const running = await t.post('/v1/chat/completions', { ...chat, stream: true });
    expect(running.status).toBe(200);
    expect(served(t)).toEqual([1, 0]);
    const reader = running.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);

    const drained = await admin(t, 'POST', '/admin/replicas/r1/drain');
    expect(drained.status).toBe(200);
    expect(await drained.json()).toMatchObject({ replica_id: 'r1', in_rotation: false, drained_at: Math.floor(t.clock.now() / 1000) });

    expect(await send(t, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(served(t)).toEqual([1, 5]);

    const decoder = new TextDecoder();
    let rest = decoder.decode(first.value, { stream: true });
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value, { stream: true });
    expect(rest).toContain('Hel');
    expect(rest.endsWith(new TextDecoder().decode(SSE_DONE))).toBe(true);
  });

  it('under load: 20 streams open over both replicas, drain r1, 20 more; all 40 finish to [DONE] and the later 20 all on r2', async () => {
    const t = await twoReplicas();
    await t.beat(t.origins[1]!);
    const open = async () => {
      const res = await t.post('/v1/chat/completions', { ...chat, stream: true });
      const reader = res.body!.getReader();
      const first = await reader.read();
      return { status: res.status, reader, head: first.value };
    };
    const before = await Promise.all(Array.from({ length: 20 }, open));
    const [onR1] = served(t);
    expect(onR1).toBeGreaterThan(0);
    expect((await admin(t, 'POST', '/admin/replicas/r1/drain')).status).toBe(200);
    const after = await Promise.all(Array.from({ length: 20 }, open));
    expect(served(t)).toEqual([onR1, 40 - onR1!]);

    const decoder = new TextDecoder();
    const done = decoder.decode(SSE_DONE);
    const bodies = await Promise.all(
      [...before, ...after].map(async ({ status, reader, head }) => {
        let text = decoder.decode(head);
        for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value);
        return status === 200 && text.endsWith(done);
      }),
    );
    expect(bodies.filter((ok) => !ok)).toEqual([]);
  });

  it('a heartbeat from a drained replica updates its load but does not undrain it; undrain brings it back', async () => {
    const t = await twoReplicas();
    expect((await admin(t, 'POST', '/admin/replicas/r1/drain')).status).toBe(200);
    const drainedAt = (await pool(t)).r1!.drained_at;
    t.clock.advance(2000);
    await t.beat(t.origins[0]!, { waiting: 3 });
    await t.beat(t.origins[1]!, { waiting: 5 });
    expect((await pool(t)).r1).toEqual({ in_rotation: false, drained_at: drainedAt, waiting: 3 });
    // Draining again keeps the first time.
    expect(await (await admin(t, 'POST', '/admin/replicas/r1/drain')).json()).toMatchObject({ drained_at: drainedAt });
    expect(await send(t, 2)).toEqual([200, 200]);
    expect(served(t)).toEqual([0, 2]);

    const undrained = await admin(t, 'POST', '/admin/replicas/r1/undrain');
    expect(undrained.status).toBe(200);
    expect(await undrained.json()).toMatchObject({ replica_id: 'r1', in_rotation: true, drained_at: null });
    // A new prompt: the one r2 served while r1 was drained keeps its prefix affinity to r2.
    expect(await send(t, 2, { ...chat, messages: [{ role: 'user', content: 'a new conversation' }] })).toEqual([200, 200]);
    expect(served(t)).toEqual([2, 2]);
  });

  it('a model whose only replica is drained is out of /v1/models and /healthz, and its requests get 503 + retry-after', async () => {
    const t = await testEdge({ deps: { options: { adminToken: ADMIN } } });
    await t.beat(t.origins[0]!);
    const id = t.origins[0]!.replicaId;
    expect((await admin(t, 'POST', `/admin/replicas/${id}/drain`)).status).toBe(200);

    expect(await (await t.get('/healthz')).json()).toEqual({ status: 'ok', replicas: { ready: 0, known: 1 } });
    expect(((await (await t.get('/v1/models')).json()) as { data: unknown[] }).data).toEqual([]);
    const refused = await t.post('/v1/chat/completions', chat);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('origin_unavailable');
    expect(served(t)).toEqual([0]);

    expect((await admin(t, 'POST', `/admin/replicas/${id}/undrain`)).status).toBe(200);
    expect(await (await t.get('/healthz')).json()).toEqual({ status: 'ok', replicas: { ready: 1, known: 1 } });
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
  });

  it('an unknown replica is 404; without the admin token 401, with an inference key 403', async () => {
    const t = await twoReplicas();
    for (const action of ['drain', 'undrain']) {
      const res = await admin(t, 'POST', `/admin/replicas/nope/${action}`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: 'not_found', param: 'id' });
    }
    expect((await t.app.request('/admin/replicas/r1/drain', { method: 'POST' })).status).toBe(401);
    expect((await admin(t, 'POST', '/admin/replicas/r1/drain', 'wrong-token-0123456789abcdef')).status).toBe(401);
    expect((await admin(t, 'POST', '/admin/replicas/r1/drain', TEST_KEY)).status).toBe(403);
    expect((await pool(t)).r1!.drained_at).toBeNull();
  });
});
