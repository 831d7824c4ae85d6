/**
 * The Node limiter's cost per request: admit + finish (with reconcile), with 1 and 50 requests in
 * flight, three ways: the edge's default solo scope (decided in memory, changes written back to
 * `limits.sqlite` every second), the shared scope (each operation a transaction on the file,
 * grouped as the edge groups them: admissions per event-loop turn, ends of requests per 5 ms),
 * and one transaction per operation. CPU µs per request, from `process.cpuUsage` (a shared
 * machine inflates wall time more than CPU time).
 *
 *   npm run bench:limits [-- requests=30000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHostLimiter } from '../../edge/src/adapters/node/host-limiter.ts';
import { openSqlite } from '../../edge/src/adapters/node/sqlite.ts';
import type { EffectiveLimits, Limiter } from '../../edge/src/ports.ts';
import { sqlLimiter } from '../../edge/src/stores/sql-limits.ts';

const LIMITS: EffectiveLimits = { tenantRpm: 1e9, tenantTpm: 1e12, keyRpm: 0, keyTpm: 0, maxConcurrent: 1000, monthlyTokens: 1e15 };
const tick = () => new Promise<void>((r) => setImmediate(r));

type Kind = 'solo' | 'shared' | 'per-operation';

/** CPU µs per request (admit, one event-loop turn, finish with usage) for one configuration. */
async function measure(kind: Kind, inFlight: number, requests: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-limits-'));
  const file = join(dir, 'limits.sqlite');
  let limiter: Limiter;
  let close: () => void;
  if (kind === 'per-operation') {
    const handle = openSqlite(file, { synchronous: 'NORMAL' });
    limiter = sqlLimiter(handle.db);
    close = () => handle.close();
  } else {
    const host = await openHostLimiter(file, { scope: kind });
    limiter = host.limiter;
    close = () => host.close();
  }
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
    close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const requests = Number(process.argv[2] ?? 30_000);
console.log('the Node edge limiter: CPU µs per request (admit + finish)');
for (const inFlight of [1, 50]) {
  const cost = new Map<Kind, number>();
  for (const kind of ['per-operation', 'shared', 'solo'] as const) cost.set(kind, await measure(kind, inFlight, requests));
  const per = cost.get('per-operation')!;
  console.log(
    `  ${String(inFlight).padStart(2)} in flight: one transaction per operation ${per.toFixed(1)} µs, shared (grouped) ${cost.get('shared')!.toFixed(1)} µs (${(cost.get('shared')! / per).toFixed(2)}×), solo (in memory, the default) ${cost.get('solo')!.toFixed(1)} µs (${(cost.get('solo')! / per).toFixed(2)}×)`,
  );
}
