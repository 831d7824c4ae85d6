/**
 * Draining replicas on the Worker: the mark lives in the pool Durable Object's SQLite, so it
 * survives heartbeats and the object's eviction, and the Worker's router, /healthz and
 * /admin/pool follow it.
 */
import { abortAllDurableObjects } from 'cloudflare:test';
import { env as cfEnv, exports as cfExports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '#shared/protocol.ts';
import { doPool } from '../../edge/src/adapters/cloudflare/ports.ts';
import { readyHeartbeat, signedInternalRequest } from '../../edge/src/testing/internal-calls.ts';
import type { Env } from '../../edge/src/worker.ts';
import { ORIGIN_OK, WORKERS_ADMIN_TOKEN, WORKERS_DEV_KEY, WORKERS_NODE_KEY } from './fixtures.ts';

const env = cfEnv as unknown as Env;
const worker = (cfExports as unknown as { default: { fetch(req: Request): Promise<Response> } }).default;
const BASE = 'http://edge.test';
const MODEL = 'wk-drain-model';

const request = (method: string, path: string, key: string, body?: unknown) =>
  worker.fetch(
    new Request(BASE + path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
const admin = (path: string) => request('POST', path, WORKERS_ADMIN_TOKEN);
const chat = () => request('POST', '/v1/chat/completions', WORKERS_DEV_KEY, { model: MODEL, messages: [{ role: 'user', content: 'hi' }] });

async function beat(replica: string): Promise<void> {
  const hb = readyHeartbeat(replica, 'wk', ORIGIN_OK, MODEL);
  const res = await worker.fetch(await signedInternalRequest(BASE + INTERNAL_PATHS.heartbeat, hb, WORKERS_NODE_KEY, 'wk'));
  expect(res.status).toBe(200);
}

async function poolRow(replica: string): Promise<{ in_rotation: boolean; drained_at: number | null } | undefined> {
  const res = await request('GET', '/admin/pool', WORKERS_ADMIN_TOKEN);
  return ((await res.json()) as { data: { replica_id: string; in_rotation: boolean; drained_at: number | null }[] }).data.find((r) => r.replica_id === replica);
}

describe('drain on the Worker', () => {
  it('the pool object keeps a drain mark through heartbeats and eviction until undrained', async () => {
    const pool = doPool(env.POOL, { listCacheMs: 0 });
    const now = Date.now();
    const hb = readyHeartbeat('wk-dp-1', 'wk', ORIGIN_OK, 'wk-dp-model', { ts: now });
    await pool.upsert(hb, now);
    expect(await pool.setDrained('wk-dp-ghost', true, now)).toBeNull();
    expect(await pool.setDrained('wk-dp-1', true, now + 1)).toMatchObject({ drainedAt: now + 1 });
    await pool.upsert({ ...hb, ts: now + 10, waiting: 4 }, now + 10);
    await abortAllDurableObjects();
    const entry = (await pool.list(now + 20)).find((e) => e.heartbeat.replica_id === 'wk-dp-1');
    expect(entry).toMatchObject({ heartbeat: { waiting: 4 }, drainedAt: now + 1 });
    expect(await pool.setDrained('wk-dp-1', false, now + 30)).toMatchObject({ drainedAt: null });
    expect((await pool.list(now + 30)).find((e) => e.heartbeat.replica_id === 'wk-dp-1')?.drainedAt).toBeNull();
  });

  it('admin drain routes: traffic avoids drained replicas, all drained → 503, undrain restores', async () => {
    await beat('wk-drain-a');
    await beat('wk-drain-b');
    expect((await chat()).status).toBe(200);

    const drained = await admin('/admin/replicas/wk-drain-a/drain');
    expect(drained.status).toBe(200);
    expect(await drained.json()).toMatchObject({ replica_id: 'wk-drain-a', in_rotation: false });
    expect((await chat()).status).toBe(200);

    expect((await admin('/admin/replicas/wk-drain-b/drain')).status).toBe(200);
    await beat('wk-drain-a');
    await beat('wk-drain-b');
    const refused = await chat();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect((await poolRow('wk-drain-a'))?.drained_at).toBeTypeOf('number');

    expect((await admin('/admin/replicas/wk-drain-a/undrain')).status).toBe(200);
    expect(await poolRow('wk-drain-a')).toMatchObject({ in_rotation: true, drained_at: null });
    expect((await chat()).status).toBe(200);
    expect((await admin('/admin/replicas/wk-nobody/drain')).status).toBe(404);
  });
});
