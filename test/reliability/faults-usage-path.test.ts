/**
 * Faults on the usage path (origin outbox → edge ledger), against the real stack:
 * - the edge's SQLite ledger locked by another process (an operator's shell, a backup holding
 *   the write lock): `/internal/usage` answers a retryable 503 at once, clients keep being served
 *   without stalls, the origin's outbox keeps the records and delivers them once the lock is gone;
 * - the disk under the origin's usage outbox (and replay window) full: a billing service never
 *   serves what it cannot record, nor drops the record of what it served. Requests served when
 *   the disk fills keep their records (held in memory, delivered from there); new requests get a
 *   retryable 503 `storage_unavailable` (the edge fails them over) until the disk frees. Needs a
 *   small tmpfs (root); where none can be mounted the case records why and is skipped;
 * - the origin's clock ahead of or behind the edge's (stepped in the running process): within
 *   the signing skew (5 min) nothing changes; beyond it the edge refuses the origin's heartbeats
 *   and usage posts and the origin refuses the edge's requests, so clients get retryable 503s
 *   (after a few 502s until the heartbeat TTL passes), streams already running finish, and the
 *   outbox keeps their records until the clocks agree again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '#shared/adapters/node/sqlite-driver.ts';
import { type SkewableClock, skewableClock } from '../helpers/clock-skew.ts';
import { ledgerFile, outboxBacklog, readLedger, settledAudit } from '../helpers/ledger.ts';
import { clientRequest, describeTally, type RequestOutcome, startLoad, tally } from '../helpers/load.ts';
import { mountSmallDisk, type SmallDisk } from '../helpers/small-disk.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { recordFaultCase } from './faults-record.ts';
import { byMode, recordFigure } from './figures.ts';

let stack: TestStack;
let disk: SmallDisk;
let clock: SkewableClock;

beforeAll(async () => {
  // The origin's usage outbox, crash journal and replay window on a disk the test can fill.
  disk = mountSmallDisk(16);
  const dataDir = disk.available ? { MOTIF_ORIGIN_DATA_DIR: disk.dir } : {};
  clock = skewableClock();
  stack = await startTestStack({ originEnv: { MOTIF_MAX_RUNNING: '8', MOTIF_MAX_QUEUE: '64', ...dataDir, ...clock.env } });
});
afterAll(async () => {
  await stack?.dispose();
  disk?.dispose();
  clock?.dispose();
});

const origin = () => ({ url: stack.originUrl, metricsToken: stack.originMetricsToken });
const request = (stream: boolean) =>
  clientRequest({ edgeUrl: stack.edgeUrl, apiKey: stack.apiKey, model: stack.model, stream, maxTokens: 16, timeoutMs: 30_000 });

const servedIds = (outcomes: readonly RequestOutcome[]) => outcomes.filter((o) => o.kind === 'served' && o.id).map((o) => o.id!);

describe('fault: edge ledger locked', () => {
  it('keeps serving clients; the outbox holds the records and delivers them after the lock is released', async () => {
    const lockMs = byMode(4_000, 12_000);
    const holder = new Database(ledgerFile(stack.dataDir));
    const load = startLoad({
      edgeUrl: stack.edgeUrl,
      apiKey: stack.apiKey,
      model: stack.model,
      clients: 3,
      maxTokens: 16,
      maxRequests: 2_000,
      timeoutMs: 30_000,
      pauseMs: 50,
    });
    let outcomes: RequestOutcome[];
    let rowsWhileLocked: number;
    let backlogWhileLocked: number | undefined;
    let slowestWhileLocked = 0;
    try {
      await sleep(500);
      const before = readLedger(ledgerFile(stack.dataDir)).length;
      holder.exec('BEGIN IMMEDIATE'); // the write lock: every other writer waits or fails
      const lockedAt = load.outcomes.length;
      await sleep(lockMs);
      backlogWhileLocked = await outboxBacklog(origin());
      rowsWhileLocked = readLedger(ledgerFile(stack.dataDir)).length - before;
      holder.exec('ROLLBACK');
      outcomes = await load.stop();
      const during = outcomes.slice(lockedAt);
      expect(tally(during).served, describeTally(during)).toBeGreaterThan(0);
      slowestWhileLocked = Math.max(...during.map((o) => o.endedAt - o.startedAt));
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      await load.stop();
    }
    const t = tally(outcomes);
    expect(t.served + t.cut + t.refused + t.error + t.unreachable + t.hung).toBe(outcomes.length);
    expect(t.hung + t.error + t.unreachable + t.cut, describeTally(outcomes)).toBe(0);
    // Heartbeats too go on while the edge's database is locked: no replica leaves rotation.
    expect(t.refused, describeTally(outcomes)).toBe(0);
    expect(backlogWhileLocked).toBeGreaterThan(0);
    // A locked ledger must not stall the edge (better-sqlite3 waits for locks on the event loop).
    expect(slowestWhileLocked).toBeLessThan(2_000);
    const audit = await settledAudit(ledgerFile(stack.dataDir), servedIds(outcomes), [origin()], 45_000);
    recordFaultCase(
      'edge ledger locked',
      `${lockMs} ms locked: ${describeTally(outcomes)}, slowest while locked ${slowestWhileLocked} ms; ledger rows written while locked ${rowsWhileLocked}, outbox backlog ${backlogWhileLocked}`,
      audit,
    );
    expect(audit.lost).toEqual([]);
    expect(audit.duplicated).toEqual([]);
  });
});

describe("fault: disk full under the origin's usage outbox", () => {
  it('never serves a request it cannot bill: served ones are billed, the rest refused with 503 until the disk frees', async (ctx) => {
    if (!disk.available) {
      recordFigure({ group: 'faults', name: 'outbox disk full: outcome', value: `not run: cannot mount a small tmpfs (${disk.reason})` });
      ctx.skip();
    }
    const outcomes: RequestOutcome[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await request(i % 2 === 0));
    // Streams running when the disk fills: served, and their records must not be lost.
    let filled = 0;
    const streams = byMode(3, 6);
    const begun = new Set<number>();
    const inFlight = await Promise.all(
      Array.from({ length: streams }, (_, i) =>
        clientRequest({
          edgeUrl: stack.edgeUrl,
          apiKey: stack.apiKey,
          model: stack.model,
          stream: true,
          maxTokens: 1000,
          timeoutMs: 30_000,
          onChunk: () => {
            begun.add(i);
            if (begun.size === streams && filled === 0) filled = disk.fill();
          },
        }),
      ),
    );
    expect(filled).toBeGreaterThan(0);
    expect(inFlight.map((o) => o.kind)).toEqual(inFlight.map(() => 'served'));
    outcomes.push(...inFlight);
    const whileFull: RequestOutcome[] = [];
    // Until the origin notices (SQLite may still write into space its files already hold) and a while after.
    for (let i = 0; i < byMode(60, 200) && whileFull.filter((o) => o.kind === 'refused').length < byMode(5, 20); i++)
      whileFull.push(await request(i % 2 === 0));
    disk.free();
    const afterFree: RequestOutcome[] = [];
    const deadline = Date.now() + 15_000;
    while (afterFree.filter((o) => o.kind === 'served').length < 4 && Date.now() < deadline) {
      afterFree.push(await request(afterFree.length % 2 === 0));
      await sleep(100);
    }
    outcomes.push(...whileFull, ...afterFree);
    const t = tally(whileFull);
    expect(t.error + t.hung + t.cut + t.unreachable, JSON.stringify(whileFull.filter((o) => o.kind !== 'served' && o.kind !== 'refused'))).toBe(0);
    expect(t.refused, describeTally(whileFull)).toBeGreaterThan(0);
    // The origin refuses (503 storage_unavailable); the edge, finding no other replica, answers 503 origin_unavailable.
    for (const o of whileFull.filter((x) => x.kind === 'refused')) expect(o).toMatchObject({ status: 503, detail: 'origin_unavailable' });
    expect(tally(afterFree).served).toBeGreaterThanOrEqual(4);
    const audit = await settledAudit(ledgerFile(stack.dataDir), servedIds(outcomes), [origin()], 30_000);
    const held = stack.logs.some((l) => l.includes('holding records in memory'));
    recordFaultCase(
      'outbox disk full',
      `filled under ${streams} running streams: ${describeTally(inFlight)}${held ? ' (records held in memory)' : ''}; then ${describeTally(whileFull)} (refused: 503, the origin's storage_unavailable); after freeing: ${describeTally(afterFree)}`,
      audit,
    );
    expect(audit.lost).toEqual([]);
    expect(audit.duplicated).toEqual([]);
  });
});

describe('fault: clock skew between edge and origin', () => {
  const MIN = 60_000;

  it('within the signing skew nothing changes; beyond it clients get retryable refusals and the outbox keeps records until the clocks agree', async () => {
    const outcomes: RequestOutcome[] = [];
    const within: string[] = [];
    for (const offset of byMode([4 * MIN], [4 * MIN, -4 * MIN, 4.9 * MIN, -4.9 * MIN])) {
      clock.set(offset);
      await sleep(1_200); // the preload reads the offset every 100 ms; one heartbeat at the new time
      const got = [await request(true), await request(false), await request(true)];
      expect(
        got.map((o) => o.kind),
        JSON.stringify(got),
      ).toEqual(['served', 'served', 'served']);
      outcomes.push(...got);
      within.push(`${offset / MIN} min: ${describeTally(got)}`);
    }
    clock.set(0);
    await sleep(1_200);

    const beyond: string[] = [];
    for (const offset of byMode([6 * MIN], [6 * MIN, -6 * MIN, 60 * MIN])) {
      // Streams running when the clock steps: they finish, and their records wait in the outbox.
      // Long ones: the origin reads the offset every 100 ms, and a stream that ends before then
      // is signed with the true clock and delivered (with 200 tokens a CI run found the outbox empty).
      let stepped = false;
      const running = await Promise.all(
        [0, 1].map(() =>
          clientRequest({
            edgeUrl: stack.edgeUrl,
            apiKey: stack.apiKey,
            model: stack.model,
            stream: true,
            maxTokens: 1200,
            timeoutMs: 30_000,
            onChunk: () => {
              if (!stepped) {
                stepped = true;
                clock.set(offset);
              }
            },
          }),
        ),
      );
      expect(running.map((o) => o.kind)).toEqual(['served', 'served']);
      outcomes.push(...running);
      await sleep(300); // the preload reads the offset every 100 ms
      const skewed: RequestOutcome[] = [];
      const until = Date.now() + 4_500; // past the heartbeat TTL (3 s)
      while (Date.now() < until) {
        skewed.push(await request(skewed.length % 2 === 0));
        await sleep(250);
      }
      outcomes.push(...skewed);
      const t = tally(skewed);
      expect(t.served + t.hung + t.cut + t.unreachable, describeTally(skewed)).toBe(0);
      // 502 origin_error while the edge still lists the replica (it refuses the edge's signature), then 503.
      for (const o of skewed.filter((x) => x.kind === 'error')) expect(o).toMatchObject({ status: 502, detail: 'origin_error' });
      expect(skewed.at(-1)).toMatchObject({ kind: 'refused', status: 503 });
      const backlog = await outboxBacklog(origin());
      expect(backlog).toBeGreaterThan(0);
      clock.set(0);
      const back: RequestOutcome[] = [];
      const deadline = Date.now() + 15_000;
      while (tally(back).served < 2 && Date.now() < deadline) {
        back.push(await request(back.length % 2 === 0));
        await sleep(200);
      }
      expect(tally(back).served, describeTally(back)).toBeGreaterThanOrEqual(2);
      outcomes.push(...back);
      beyond.push(
        `${offset / MIN} min: running ${describeTally(running)}, then ${describeTally(skewed)} (outbox held ${backlog}); clocks agree again: ${describeTally(back)}`,
      );
    }
    const audit = await settledAudit(ledgerFile(stack.dataDir), servedIds(outcomes), [origin()], 45_000);
    recordFaultCase('clock skew edge/origin', `within ${within.join('; ')} | beyond ${beyond.join('; ')}`, audit);
    expect(audit.lost).toEqual([]);
    expect(audit.duplicated).toEqual([]);
  });
});
