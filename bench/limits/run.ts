/**
 * The Node limiter's cost per request: admit + finish (with reconcile) on a `limits.sqlite` file
 * as the edge opens it (WAL, synchronous=NORMAL), one transaction per operation vs operations
 * grouped as node.ts does (admissions per event-loop turn, ends of requests per 5 ms), with 1 and 50 requests in flight. CPU µs per request, from
 * `process.cpuUsage` (a shared machine inflates wall time more than CPU time).
 *
 *   npm run bench:limits [-- requests=30000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../edge/src/adapters/node/sqlite.ts';
import type { EffectiveLimits } from '../../edge/src/ports.ts';
import { sqlLimiter } from '../../edge/src/stores/sql-limits.ts';

const LIMITS: EffectiveLimits = { tenantRpm: 1e9, tenantTpm: 1e12, keyRpm: 0, keyTpm: 0, maxConcurrent: 1000, monthlyTokens: 1e15 };
const tick = () => new Promise<void>((r) => setImmediate(r));

/** CPU µs per request (admit, one event-loop turn, finish with usage) for one configuration. */
async function measure(grouped: boolean, inFlight: number, requests: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-limits-'));
  const handle = openSqlite(join(dir, 'limits.sqlite'), { synchronous: 'NORMAL' });
  const limiter = sqlLimiter(handle.db, grouped ? { defer: setImmediate, deferSettle: (run) => setTimeout(run, 5) } : {});
  let seq = 0;
  const one = async () => {
    const n = seq++;
    const now = Date.now();
    const tenantId = `t${n % 50}`;
    const leaseId = `req_${n}`;
    const d = await limiter.admit({ leaseId, tenantId, keyId: `${tenantId}-k`, limits: LIMITS, reserveTokens: 200, now, expiresAt: now + 720_000 });
    if (!d.allowed) throw new Error(`refused: ${d.reason}`);
    await tick();
    void limiter.finish(tenantId, leaseId, 120, now); // the edge does not wait for it either
  };
  const run = async (n: number) => {
    const end = seq + n;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (seq < end) await one();
      }),
    );
  };
  try {
    await run(Math.min(3000, requests));
    const start = process.cpuUsage();
    const from = seq;
    await run(requests);
    await new Promise((r) => setTimeout(r, 20)); // let the last batch of request ends commit
    const cpu = process.cpuUsage(start);
    return (cpu.user + cpu.system) / (seq - from);
  } finally {
    handle.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const requests = Number(process.argv[2] ?? 30_000);
console.log('limiter on limits.sqlite: CPU µs per request (admit + finish)');
for (const inFlight of [1, 50]) {
  const single = await measure(false, inFlight, requests);
  const grouped = await measure(true, inFlight, requests);
  console.log(
    `  ${String(inFlight).padStart(2)} in flight: one transaction per operation ${single.toFixed(1)} µs, grouped as the edge does ${grouped.toFixed(1)} µs (grouped / per operation = ${(grouped / single).toFixed(2)}×)`,
  );
}
