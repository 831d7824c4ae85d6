/**
 * Issue 14, hole 2: one node's key must not let it take over another replica's traffic, lock the
 * real replica out, point traffic at an arbitrary host, or bill as another node's replica.
 */
import { describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '#shared/protocol.ts';
import { MAX_SKEW_MS } from '#shared/signing.ts';
import { nodeKey, TEST_SIGNING, testEdge, testNodeKeys, usageRecord } from '../testing/harness.ts';

const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] };

/** Two nodes; r2 holds a genuine key and turns hostile. */
async function twoNodes() {
  const t = await testEdge({ origins: [{ replicaId: 'r1' }, { replicaId: 'r2', model: 'other-model' }] });
  const [r1, r2] = t.origins as [(typeof t.origins)[0], (typeof t.origins)[0]];
  expect((await t.beat(r1)).status).toBe(200);
  expect((await t.beat(r2)).status).toBe(200);
  /** Routing unchanged: a request for r1's model still reaches r1. */
  const routesToR1 = async () => {
    const before = r1.requests.length;
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
    expect(r1.requests.length).toBe(before + 1);
    expect(r2.requests.length).toBe(0);
  };
  return { t, r1, r2, routesToR1 };
}

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; param: string } }).error;

describe('heartbeats speak only for the signing node', () => {
  it("refuses a beat claiming another node's replica id, and routing is unchanged", async () => {
    const { t, r1, routesToR1 } = await twoNodes();
    const forged = r1.heartbeat({ url: 'http://r2.origin.test', node_id: 'r2', ts: t.clock.now() + 1 });
    const res = await t.signedPost(INTERNAL_PATHS.heartbeat, forged, { key: nodeKey('r2') });
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatchObject({ code: 'permission_denied', param: 'replica_id' });
    await routesToR1();
  });

  it('refuses a beat whose node id is not the key’s node', async () => {
    const { t, r1, routesToR1 } = await twoNodes();
    const res = await t.signedPost(INTERNAL_PATHS.heartbeat, r1.heartbeat({ node_id: 'r2', ts: t.clock.now() }), { key: nodeKey('r1') });
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatchObject({ param: 'node_id' });
    await routesToR1();
  });

  it.each([
    ['future', MAX_SKEW_MS + 1],
    ['past', -(MAX_SKEW_MS + 1)],
  ])('refuses a %s-dated beat, so it cannot outrank (lock out) the real beats', async (_name, offset) => {
    const { t, r1, routesToR1 } = await twoNodes();
    const res = await t.beat(r1, { ts: t.clock.now() + offset, state: 'draining' });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ param: 'ts' });
    await routesToR1();
    // The next honest beat is taken at once: nothing is locked out.
    t.clock.advance(2_500);
    expect((await t.beat(r1)).status).toBe(200);
    t.clock.advance(2_500);
    await routesToR1();
  });

  it.each([
    ['a public address', 'http://203.0.113.7:4681'],
    ['the cloud metadata address', 'http://169.254.169.254/latest'],
    ['a host outside the list', 'https://evil.example.com'],
    ['credentials in the url', 'http://user:pw@r1.origin.test'],
  ])('refuses a replica url at %s', async (_name, url) => {
    const { t, r1, routesToR1 } = await twoNodes();
    const res = await t.beat(r1, { url });
    expect([400, 403]).toContain(res.status);
    expect(await errorOf(res)).toMatchObject({ param: 'url' });
    await routesToR1();
  });

  it("the edge's own signing key (edge → origin) is no node key", async () => {
    const { t, r1 } = await twoNodes();
    const res = await t.signedPost(INTERNAL_PATHS.heartbeat, r1.heartbeat({ ts: t.clock.now() }), { key: TEST_SIGNING });
    expect(res.status).toBe(401);
  });

  it('a node key rotates without downtime: old and new keys both speak for the node', async () => {
    const oldKey = nodeKey('r1');
    const newKey = { kid: 'node-r1-2027', secret: 'rotated-node-secret-0123456789' };
    const nodeKeys = testNodeKeys(['r1']);
    const ring = new Map(nodeKeys.ring).set(newKey.kid, newKey.secret);
    const nodeOf = new Map(nodeKeys.nodeOf).set(newKey.kid, 'r1');
    const t = await testEdge({ deps: { nodeKeys: { ring, nodeOf } } });
    const r1 = t.origins[0]!;
    expect((await t.signedPost(INTERNAL_PATHS.heartbeat, r1.heartbeat({ ts: t.clock.now() }), { key: oldKey })).status).toBe(200);
    expect((await t.signedPost(INTERNAL_PATHS.heartbeat, r1.heartbeat({ ts: t.clock.now() }), { key: newKey })).status).toBe(200);
  });
});

describe('usage speaks only for the signing node', () => {
  it("refuses a batch holding another node's replica, and records none of it", async () => {
    const { t } = await twoNodes();
    const batch = { records: [usageRecord({ request_id: 'own', replica_id: 'r2' }), usageRecord({ request_id: 'theirs', replica_id: 'r1' })] };
    const res = await t.signedPost(INTERNAL_PATHS.usage, batch, { key: nodeKey('r2') });
    expect(res.status).toBe(403);
    expect(t.ledger.size()).toBe(0);
    const own = await t.signedPost(INTERNAL_PATHS.usage, { records: [batch.records[0]!] }, { key: nodeKey('r2') });
    expect(await own.json()).toEqual({ accepted: 1, duplicates: 0 });
  });
});
