/**
 * Failover on a pool of real origin processes (simulated engine) behind the real Node edge, under
 * a steady load of streamed and JSON requests:
 *  - one replica of four is SIGKILLed: no request fails before its first byte (JSON requests and
 *    streams not yet started fail over), the streams it was serving end with an SSE `error` event,
 *    it leaves rotation within 3 s, and it rejoins once restarted;
 *  - one replica is drained by the operator: zero failed requests, it gets no new ones, and
 *    undraining brings it back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTally, type RequestOutcome, startLoad, tally } from '../helpers/load.ts';
import { inRotation, type SimPool, startSimPool } from '../helpers/sim-pool.ts';

const CLIENTS = 8;
/** Long enough that a kill lands mid-stream on the replica's running requests. */
const MAX_TOKENS = 60;
/** The bound on a dead replica leaving rotation, plus the poll's own step. */
const LEAVE_ROTATION_MS = 3_000;
const POLL_MS = 50;

let pool: SimPool;

beforeAll(async () => {
  pool = await startSimPool({ replicas: 4, sim: { speed: 1 } });
}, 240_000);

afterAll(async () => {
  await pool?.dispose();
});

const load = (maxRequests = 100_000) =>
  startLoad({ edgeUrl: pool.stack.edgeUrl, apiKey: pool.stack.apiKey, model: pool.stack.model, clients: CLIENTS, maxTokens: MAX_TOKENS, maxRequests, timeoutMs: 30_000 });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests the replica has received, from its own /metrics (the origin counts every request it took). */
async function servedBy(url: string): Promise<number> {
  const headers: Record<string, string> = pool.stack.originMetricsToken ? { authorization: `Bearer ${pool.stack.originMetricsToken}` } : {};
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  let total = 0;
  for (const m of text.matchAll(/^motif_origin_requests_total\{endpoint="chat\/completions"[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
}

function failedBeforeFirstByte(outcomes: RequestOutcome[]): RequestOutcome[] {
  return outcomes.filter((o) => o.kind !== 'served' && o.kind !== 'cut');
}

describe('a pool of four simulated replicas under load', () => {
  it('kill one: nothing fails before its first byte, its streams end in an SSE error, it leaves rotation within 3 s and rejoins after restart', async () => {
    const victim = 'local-2';
    const l = load();
    await sleep(2_000);
    const killedAt = Date.now();
    await pool.kill(victim);
    let leftAfterMs = Number.POSITIVE_INFINITY;
    while (Date.now() - killedAt < LEAVE_ROTATION_MS + 2_000) {
      if (!(await inRotation(pool.stack)).has(victim)) {
        leftAfterMs = Date.now() - killedAt;
        break;
      }
      await sleep(POLL_MS);
    }
    await sleep(1_500);
    const outcomes = await l.stop();
    const summary = describeTally(outcomes);

    expect(failedBeforeFirstByte(outcomes), summary).toEqual([]);
    const cut = outcomes.filter((o) => o.kind === 'cut');
    // Every cut is a stream that had started (200) and was closed with an SSE error event.
    for (const c of cut) {
      expect(c.stream, summary).toBe(true);
      expect(c.status).toBe(200);
      expect(c.detail, 'a cut stream must end in an SSE error event, not an abrupt close').not.toMatch(/ended without \[DONE\]|terminated|ECONNRESET|other side closed/i);
    }
    expect(tally(outcomes).served, summary).toBeGreaterThan(CLIENTS);
    expect(leftAfterMs, `left rotation after ${leftAfterMs} ms`).toBeLessThanOrEqual(LEAVE_ROTATION_MS + POLL_MS);

    await pool.restart(victim);
    const deadline = Date.now() + 10_000;
    while (!(await inRotation(pool.stack)).has(victim) && Date.now() < deadline) await sleep(100);
    expect((await inRotation(pool.stack)).has(victim)).toBe(true);
    const before = await servedBy(pool.replicas.find((r) => r.id === victim)!.url);
    const again = await load(3 * CLIENTS * 4).stop();
    expect(failedBeforeFirstByte(again), describeTally(again)).toEqual([]);
    expect(await servedBy(pool.replicas.find((r) => r.id === victim)!.url)).toBeGreaterThan(before);
  }, 120_000);

  it('drain one under load: zero failed requests, no new requests reach it, undrain brings it back', async () => {
    const target = pool.replicas.find((r) => r.id === 'local-1')!;
    const l = load();
    await sleep(1_500);
    expect((await pool.admin(`/admin/replicas/${target.id}/drain`, { method: 'POST' })).status).toBe(200);
    // Requests already sent there finish; after that its count must not move.
    await sleep(MAX_TOKENS * 40);
    const settled = await servedBy(target.url);
    await sleep(2_000);
    expect(await servedBy(target.url)).toBe(settled);
    const outcomes = await l.stop();
    expect(tally(outcomes), describeTally(outcomes)).toMatchObject({ cut: 0, refused: 0, error: 0, unreachable: 0, hung: 0 });

    expect((await pool.admin(`/admin/replicas/${target.id}/undrain`, { method: 'POST' })).status).toBe(200);
    const again = await load(3 * CLIENTS * 4).stop();
    expect(tally(again).served).toBe(again.length);
    expect(await servedBy(target.url)).toBeGreaterThan(settled);
  }, 120_000);
});
