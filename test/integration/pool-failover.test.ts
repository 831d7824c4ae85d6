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

/** Streams dominate what is in flight (long, most clients), so a killed replica surely has some running. */
const STREAM_CLIENTS = 8;
const JSON_CLIENTS = 2;
/** A stream lasts ~0.8 s on the sim (~13 ms a token): a kill lands mid-stream on the replica's running ones. */
const MAX_TOKENS = 60;
const JSON_MAX_TOKENS = 8;
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

/** Distinct prompts, as many users send: routing spreads them by load, not by one shared prefix. */
const promptOf = (tag: string) => (client: number, i: number) => `${tag} client ${client} request ${i}: tell me a story about faults.`;
const target = () => ({ edgeUrl: pool.stack.edgeUrl, apiKey: pool.stack.apiKey, model: pool.stack.model, maxTokens: MAX_TOKENS, timeoutMs: 30_000 });
/** Streams and JSON requests side by side: streams may be cut after their first byte, JSON never is. */
const load = (tag: string, maxRequests = 100_000) => {
  const streams = startLoad({ ...target(), clients: STREAM_CLIENTS, mixed: false, maxRequests, promptOf: promptOf(`${tag} stream`) });
  const json = startLoad({ ...target(), maxTokens: JSON_MAX_TOKENS, clients: JSON_CLIENTS, json: true, maxRequests, promptOf: promptOf(`${tag} json`) });
  return { stop: async () => [...(await streams.stop()), ...(await json.stop())] };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The replica's row in the edge's /admin/pool. */
async function poolRow(id: string): Promise<{ in_rotation: boolean; circuit: string } | undefined> {
  const body = (await (await pool.admin('/admin/pool')).json()) as { data: { replica_id: string; in_rotation: boolean; circuit: string }[] };
  return body.data.find((r) => r.replica_id === id);
}

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
    const l = load('kill');
    await sleep(2_000);
    // The replica this edge has the most requests in flight to: most of them are streams.
    const rows = ((await (await pool.admin('/admin/pool')).json()) as { data: { replica_id: string; inflight: number }[] }).data;
    const busiest = rows.reduce((a, b) => (b.inflight > a.inflight ? b : a));
    const victim = pool.replicas.find((r) => r.id === busiest.replica_id)!;
    const killedAt = Date.now();
    await pool.kill(victim.id);
    let leftAfterMs = Number.POSITIVE_INFINITY;
    while (Date.now() - killedAt < LEAVE_ROTATION_MS + 2_000) {
      if (!(await inRotation(pool.stack)).has(victim.id)) {
        leftAfterMs = Date.now() - killedAt;
        break;
      }
      await sleep(POLL_MS);
    }
    await sleep(1_500);
    const outcomes = await l.stop();
    const cut = outcomes.filter((o) => o.kind === 'cut');
    const summary = `${describeTally(outcomes)}; left rotation after ${leftAfterMs} ms; cut: ${JSON.stringify(cut.map((o) => o.detail))}`;
    console.log(`pool-failover: killed ${victim.id} under load: ${summary}`);

    expect(failedBeforeFirstByte(outcomes), summary).toEqual([]);
    // The victim had streams running: each ends in an SSE error event after its first byte —
    // never an abrupt close, never a JSON request (those fail over before their first byte).
    expect(cut.length, summary).toBeGreaterThan(0);
    for (const c of cut) {
      expect(c.stream, summary).toBe(true);
      expect(c.status).toBe(200);
      expect(c.detail, summary).toBe('origin_error');
    }
    expect(tally(outcomes).served, summary).toBeGreaterThan(STREAM_CLIENTS + JSON_CLIENTS);
    expect(leftAfterMs, summary).toBeLessThanOrEqual(LEAVE_ROTATION_MS + POLL_MS);

    // Restarted (a new process, its counts from 0), its heartbeat puts it back in rotation; once
    // its circuit's cooldown is over (the kill opened it; a restart quicker than the cooldown
    // waits it out), the circuit closes on its first request.
    await pool.restart(victim.id);
    const rejoined = async () => {
      const row = await poolRow(victim.id);
      return row?.in_rotation === true && row.circuit !== 'open';
    };
    const deadline = Date.now() + 20_000;
    while (!(await rejoined()) && Date.now() < deadline) await sleep(100);
    expect(await poolRow(victim.id)).toMatchObject({ in_rotation: true, circuit: expect.not.stringMatching(/^open$/) });
    const again = await load('rejoin', 24).stop();
    expect(failedBeforeFirstByte(again), describeTally(again)).toEqual([]);
    expect(await servedBy(victim.url)).toBeGreaterThan(0);
    expect((await poolRow(victim.id))?.circuit).toBe('closed');
  }, 120_000);

  it('drain one under load: zero failed requests, no new requests reach it, undrain brings it back', async () => {
    const target = pool.replicas.find((r) => r.id === 'local-1')!;
    const l = load('drain');
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
    const again = await load('undrain', 24).stop();
    expect(tally(again).served).toBe(again.length);
    expect(await servedBy(target.url)).toBeGreaterThan(settled);
  }, 120_000);
});
