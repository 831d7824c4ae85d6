import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Heartbeat, INTERNAL_PATHS } from '#shared/protocol.ts';
import { UsageBatch } from '#shared/usage.ts';
import { createEdgeClient } from '../../pool/edge-client.ts';
import { createHeartbeat } from '../../pool/heartbeat.ts';
import { backoffDelay, createUsageDeliverer } from '../../usage/deliverer.ts';
import { openSqliteOutbox } from './sqlite-outbox.ts';
import { type SignedReceiver, startSignedReceiver, usageRecord } from './test-support.ts';

const key = { kid: 'k1', secret: 'delivery-secret-0123456789' };
const ring = new Map([[key.kid, key.secret]]);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(): Promise<SignedReceiver> {
  const r = await startSignedReceiver(ring);
  cleanups.push(() => r.close());
  return r;
}

function tempDb(): string {
  const d = mkdtempSync(join(tmpdir(), 'motif-delivery-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return join(d, 'usage.db');
}

/** Request ids as the ledger sees them, in arrival order (duplicates kept). */
const arrivals = (r: SignedReceiver) =>
  r.received.filter((x) => x.path === INTERNAL_PATHS.usage).flatMap((x) => UsageBatch.parse(x.body).records.map((rec) => rec.request_id));

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

const fastDeliverer = (outbox: ReturnType<typeof openSqliteOutbox>, baseUrl: string, batchSize = 2) =>
  createUsageDeliverer({
    outbox,
    client: createEdgeClient({ baseUrl, signingKey: key, replicaId: 'replica-1', timeoutMs: 1_000 }),
    batchSize,
    idleMs: 20,
    backoffBaseMs: 5,
    backoffMaxMs: 20,
  });

describe('usage delivery to a signed-verifying receiver', () => {
  it('delivers every record signed, in batches, and empties the outbox', async () => {
    const r = await receiver();
    const outbox = openSqliteOutbox({ file: ':memory:' });
    cleanups.push(() => outbox.close());
    const d = fastDeliverer(outbox, r.url);
    for (const id of ['a', 'b', 'c']) await outbox.append(usageRecord(id));
    d.start();
    cleanups.push(() => d.stop());
    await until(() => outbox.backlog() === 0);
    expect(arrivals(r)).toEqual(['a', 'b', 'c']);
    expect(r.rejected).toBe(0);
    // Woken by notify() for a record appended later.
    await outbox.append(usageRecord('d'));
    d.notify();
    await until(() => outbox.backlog() === 0);
    expect(arrivals(r)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('lingers after a wake-up so records appended close together share one batch (one fsync at the edge)', async () => {
    const r = await receiver();
    const outbox = openSqliteOutbox({ file: ':memory:' });
    cleanups.push(() => outbox.close());
    const d = createUsageDeliverer({
      outbox,
      client: createEdgeClient({ baseUrl: r.url, signingKey: key, replicaId: 'replica-1', timeoutMs: 1_000 }),
      idleMs: 60_000,
      // Far above the ~40 ms the three appends below take, so a stalled machine still fits them
      // in the linger; lingering is what is tested, not its length.
      lingerMs: 1_000,
    });
    d.start();
    cleanups.push(() => d.stop());
    await new Promise((res) => setTimeout(res, 30));
    for (const id of ['a', 'b', 'c']) {
      await outbox.append(usageRecord(id));
      d.notify();
      await new Promise((res) => setTimeout(res, 20));
    }
    await until(() => outbox.backlog() === 0);
    const batches = r.received.filter((x) => x.path === INTERNAL_PATHS.usage);
    expect(batches).toHaveLength(1);
    expect(arrivals(r)).toEqual(['a', 'b', 'c']);
  });

  it('survives receiver downtime and redelivers the same request ids', async () => {
    const r = await receiver();
    await r.down();
    const outbox = openSqliteOutbox({ file: ':memory:' });
    cleanups.push(() => outbox.close());
    const d = fastDeliverer(outbox, r.url);
    await outbox.append(usageRecord('p'));
    await outbox.append(usageRecord('q'));
    d.start();
    cleanups.push(() => d.stop());
    await new Promise((res) => setTimeout(res, 60));
    expect(outbox.backlog()).toBe(2);
    await r.up();
    await until(() => outbox.backlog() === 0);
    expect(arrivals(r)).toEqual(['p', 'q']);
  });

  it('resends a batch whose acknowledgement was lost, with the same ids (the ledger dedups)', async () => {
    const r = await receiver();
    r.status = 500; // recorded, but the origin sees a failure: like a lost ack
    const outbox = openSqliteOutbox({ file: ':memory:' });
    cleanups.push(() => outbox.close());
    const d = fastDeliverer(outbox, r.url, 10);
    await outbox.append(usageRecord('m'));
    d.start();
    cleanups.push(() => d.stop());
    await until(() => arrivals(r).length >= 2);
    r.status = 200;
    await until(() => outbox.backlog() === 0);
    const ids = arrivals(r);
    expect(new Set(ids)).toEqual(new Set(['m']));
    expect(ids.length).toBeGreaterThanOrEqual(3);
  });

  it('delivers after a process restart what the previous process left in the outbox', async () => {
    const r = await receiver();
    await r.down();
    const file = tempDb();
    const before = openSqliteOutbox({ file });
    const d1 = fastDeliverer(before, r.url);
    await before.append(usageRecord('survivor'));
    d1.start();
    expect(await d1.flush(50)).toBe(1); // edge down: flush gives up, the record stays
    before.close();

    await r.up();
    const after = openSqliteOutbox({ file });
    cleanups.push(() => after.close());
    const d2 = fastDeliverer(after, r.url);
    d2.start();
    cleanups.push(() => d2.stop());
    await until(() => after.backlog() === 0);
    expect(arrivals(r)).toEqual(['survivor']);
  });

  it('flush delivers what is pending before shutdown', async () => {
    const r = await receiver();
    const outbox = openSqliteOutbox({ file: ':memory:' });
    cleanups.push(() => outbox.close());
    const d = fastDeliverer(outbox, r.url, 1);
    for (const id of ['f1', 'f2', 'f3']) await outbox.append(usageRecord(id));
    expect(await d.flush(5_000)).toBe(0);
    expect(arrivals(r)).toEqual(['f1', 'f2', 'f3']);
  });

  it('backoff grows exponentially with full jitter and is capped', () => {
    expect([1, 2, 3, 4, 10].map((a) => backoffDelay(a, 100, 1_000, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelay(5, 100, 1_000, () => 0)).toBe(0);
    expect(backoffDelay(3, 100, 1_000, () => 0.5)).toBe(200);
  });
});

describe('heartbeat', () => {
  const snapshot = (): Heartbeat => ({
    replica_id: 'replica-1',
    node_id: 'node-1',
    url: 'http://127.0.0.1:4681',
    model: 'motif-test',
    revision: 'rev1',
    state: 'ready',
    waiting: 0,
    running: 1,
    max_running: 4,
    kv_usage: 0.5,
    tokens_per_s: 12.5,
    ts: Date.now(),
  });

  it('posts a signed, valid heartbeat and keeps beating', async () => {
    const r = await receiver();
    const hb = createHeartbeat({ client: createEdgeClient({ baseUrl: r.url, signingKey: key, replicaId: 'replica-1' }), snapshot, intervalMs: 10 });
    hb.start();
    cleanups.push(() => hb.stop());
    await until(() => r.received.length >= 3);
    await hb.stop();
    for (const x of r.received) {
      expect(x.path).toBe(INTERNAL_PATHS.heartbeat);
      expect(Heartbeat.parse(x.body)).toMatchObject({ replica_id: 'replica-1', state: 'ready', running: 1 });
    }
    expect(r.rejected).toBe(0);
  });

  it('tolerates the edge being down and resumes when it returns', async () => {
    const r = await receiver();
    await r.down();
    const logs: string[] = [];
    const results: boolean[] = [];
    const hb = createHeartbeat({
      client: createEdgeClient({ baseUrl: r.url, signingKey: key, replicaId: 'replica-1' }),
      snapshot,
      intervalMs: 10,
      log: (l) => logs.push(l),
      onResult: (ok) => results.push(ok),
    });
    hb.start();
    cleanups.push(() => hb.stop());
    await until(() => results.length >= 3);
    expect(results.every((ok) => !ok)).toBe(true);
    await r.up();
    await until(() => r.received.length >= 1);
    await hb.stop();
    // One line per transition, not per failed beat.
    expect(logs.filter((l) => /not accepting/.test(l))).toHaveLength(1);
    expect(logs.filter((l) => /reachable/.test(l))).toHaveLength(1);
  });
});
