/**
 * Process faults against the real stack (embedded S3 → origin(s) → Node edge), each checked on
 * the client side and in the usage ledger afterwards (0 lost, 0 duplicated, counted by request
 * id once delivery settles):
 * 1. the origin killed with SIGKILL mid-stream: every open stream ends in an SSE `error` event
 *    (no `[DONE]`, no hang); while it is down the edge answers 503 + retry-after; restarted, it
 *    serves again and its outbox delivers, the cut requests recovered from its crash journal;
 * 2. the edge killed with SIGKILL under load and restarted on the same port and data: clients see
 *    broken connections or refused connects, never a hang; after the restart requests are served
 *    and the origin's outbox redelivers what the dead edge had not acknowledged (idempotent);
 * 3. one of two replicas killed under load: new requests go to the other one; the killed one,
 *    restarted, bills its cut requests.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/stack/processes.ts';
import { ledgerFile, type OriginMetrics, settledAudit } from '../helpers/ledger.ts';
import { clientRequest, describeTally, type RequestOutcome, startLoad, tally } from '../helpers/load.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { recordFaultCase } from './faults-record.ts';
import { byMode } from './figures.ts';

let stack: TestStack;
const served = new Set<string>();
const origins: OriginMetrics[] = [];

beforeAll(async () => {
  stack = await startTestStack({ originEnv: { MOTIF_MAX_RUNNING: '8', MOTIF_MAX_QUEUE: '64' } });
  origins.push({ url: stack.originUrl, metricsToken: stack.originMetricsToken });
});
afterAll(async () => {
  await stack?.dispose();
});
// A case that failed half way must not leave the next one without an origin or an edge.
beforeEach(async () => {
  if (!stack) return;
  const gone = (p: TestStack['edge']) => p.child.exitCode !== null || p.child.signalCode !== null;
  if (gone(stack.edge)) await stack.restartEdge();
  if (gone(stack.origin)) await stack.restartOrigin();
});

const request = (stream: boolean, maxTokens: number, extra: Partial<Parameters<typeof clientRequest>[0]> = {}) =>
  clientRequest({ edgeUrl: stack.edgeUrl, apiKey: stack.apiKey, model: stack.model, stream, maxTokens, timeoutMs: 30_000, ...extra });

function remember(outcomes: readonly RequestOutcome[]): void {
  for (const o of outcomes) if (o.kind === 'served' && o.id) served.add(o.id);
}

/** Wait for `cond`, bounded: a fault that stops progress fails the test instead of hanging it. */
async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${stack.logs.slice(-30).join('\n')}`);
    await sleep(20);
  }
}

const servedCount = (outcomes: readonly RequestOutcome[]) => outcomes.filter((o) => o.kind === 'served').length;

/** Wait until the edge has `n` replicas in rotation (heartbeats arrived). */
async function untilReplicas(n: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const h = (await fetch(`${stack.edgeUrl}/healthz`)
      .then((r) => r.json())
      .catch(() => null)) as { replicas?: { ready: number } } | null;
    if (h?.replicas?.ready === n) return;
    await sleep(100);
  }
  throw new Error(`the edge did not list ${n} replica(s) in rotation within ${timeoutMs} ms`);
}

describe('fault: origin kill -9 mid-stream', () => {
  it('cuts every open stream with an SSE error, refuses while down, bills each request once after the restart', async () => {
    const rounds = byMode(1, 3);
    const streams = byMode(3, 6);
    const all: RequestOutcome[] = [];
    let downRefusals = 0;
    for (let round = 0; round < rounds; round++) {
      remember(await Promise.all([request(false, 4), request(true, 4)]));
      // Open streams, kill once each has delivered content.
      let started = 0;
      let killed = false;
      const kill = () => {
        if (++started === streams && !killed) {
          killed = true;
          stack.origin.kill();
        }
      };
      const seen = new Set<number>();
      const cut = await Promise.all(
        Array.from({ length: streams }, (_, i) =>
          request(true, 1500, {
            onChunk: () => {
              if (!seen.has(i)) {
                seen.add(i);
                kill();
              }
            },
          }),
        ),
      );
      all.push(...cut);
      expect(killed).toBe(true);
      for (const o of cut) {
        expect(o.kind, JSON.stringify(o)).toBe('cut');
        expect(o.detail).toBe('origin_error');
      }
      await stack.origin.exited;
      // Down: a clear, retryable refusal (the dead replica is still listed, failover finds no other).
      const down = await request(false, 2);
      expect(down).toMatchObject({ kind: 'refused', status: 503 });
      downRefusals++;
      await stack.restartOrigin();
      const again = await Promise.all([request(true, 4), request(false, 4)]);
      expect(again.map((o) => o.kind)).toEqual(['served', 'served']);
      remember(again);
    }
    const audit = await settledAudit(ledgerFile(stack.dataDir), served, origins, 30_000);
    recordFaultCase('origin kill -9 mid-stream', `${rounds} kill(s): ${describeTally(all)} (SSE error), 503+retry-after while down ×${downRefusals}`, audit);
    expect(audit.lost).toEqual([]);
    expect(audit.duplicated).toEqual([]);
    expect(audit.wrongOutcome).toEqual([]);
  });
});

describe('fault: edge kill -9 under load', () => {
  it('never hangs a client; after the restart requests are served and usage is redelivered exactly once', async () => {
    const rounds = byMode(1, 3);
    const outcomes: RequestOutcome[] = [];
    for (let round = 0; round < rounds; round++) {
      const load = startLoad({
        edgeUrl: stack.edgeUrl,
        apiKey: stack.apiKey,
        model: stack.model,
        clients: 4,
        maxTokens: 24,
        maxRequests: 400,
        timeoutMs: 30_000,
        pauseMs: 20,
      });
      await until(() => servedCount(load.outcomes) >= 8, 'requests served before the kill').catch(async (err) => {
        await load.stop();
        throw err;
      });
      stack.edge.kill();
      await stack.edge.exited;
      await sleep(byMode(500, 1500));
      await stack.restartEdge();
      // Served again once the origin's heartbeat reached the new edge.
      const after = load.outcomes.length;
      await until(() => servedCount(load.outcomes.slice(after)) >= 8, 'requests served after the restart', 15_000).catch(() => {});
      const round_ = await load.stop();
      outcomes.push(...round_);
      expect(servedCount(round_.slice(after)), JSON.stringify(round_.slice(after).slice(0, 12))).toBeGreaterThanOrEqual(8);
    }
    remember(outcomes);
    const t = tally(outcomes);
    expect(t.hung, describeTally(outcomes)).toBe(0);
    expect(t.error, JSON.stringify(outcomes.filter((o) => o.kind === 'error'))).toBe(0);
    const audit = await settledAudit(ledgerFile(stack.dataDir), served, origins, 45_000);
    recordFaultCase('edge kill -9 under load', `${rounds} kill(s): ${describeTally(outcomes)}`, audit);
    expect(audit.lost).toEqual([]);
    expect(audit.duplicated).toEqual([]);
    expect(audit.wrongOutcome).toEqual([]);
  });
});

describe('fault: replica kill under load (two replicas)', () => {
  it('sends new requests to the surviving replica; the killed one bills its cut requests after its restart', async () => {
    const port = await freePort();
    const second = await stack.addOrigin('local-1', port);
    origins.push({ url: `http://127.0.0.1:${port}`, metricsToken: stack.originMetricsToken });
    await untilReplicas(2);
    const rounds = byMode(1, 3);
    const outcomes: RequestOutcome[] = [];
    let afterKillFailures = 0;
    for (let round = 0; round < rounds; round++) {
      const load = startLoad({
        edgeUrl: stack.edgeUrl,
        apiKey: stack.apiKey,
        model: stack.model,
        clients: 4,
        maxTokens: 48,
        maxRequests: 400,
        timeoutMs: 30_000,
      });
      await until(() => servedCount(load.outcomes) >= 8, 'requests served before the kill').catch(async (err) => {
        await load.stop();
        throw err;
      });
      stack.origin.kill();
      await stack.origin.exited;
      // From its exit, not from the signal: how long a SIGKILLed process takes to go away depends
      // on the machine, and a request sent before it is gone may be cut by the kill.
      const goneAt = Date.now();
      await sleep(byMode(1500, 3000));
      const result = await load.stop();
      outcomes.push(...result);
      // Requests that started after the replica was gone must all be served by the other one.
      const late = result.filter((o) => o.startedAt > goneAt);
      afterKillFailures += late.filter((o) => o.kind !== 'served').length;
      expect(late.length).toBeGreaterThan(0);
      await stack.restartOrigin();
      await untilReplicas(2);
    }
    remember(outcomes);
    const t = tally(outcomes);
    expect(t.hung + t.error + t.unreachable, describeTally(outcomes)).toBe(0);
    expect(afterKillFailures).toBe(0);
    const audit = await settledAudit(ledgerFile(stack.dataDir), served, origins, 30_000);
    recordFaultCase(
      'replica kill -9 under load (2 replicas)',
      `${rounds} kill(s): ${describeTally(outcomes)}; failed after the kill: ${afterKillFailures}`,
      audit,
    );
    expect(audit.lost).toEqual([]);
    expect(audit.duplicated).toEqual([]);
    await second.stop();
  });
});
