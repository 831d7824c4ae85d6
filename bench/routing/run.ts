/**
 * `npm run bench:routing [-- --quick --replicas 8 --clients 32 --sessions 64 --turns 8 --user-bytes 4096 --system-bytes 2048 --only shared|unique --max-tokens 32]`
 *
 * Routing on a pool of simulated replicas (origin processes on `MOTIF_ENGINE=sim`: a latency
 * model with a prefix cache shaped like an MI250 GCD, origin/src/engine/sim/README.md) behind the
 * real Node edge. Two workloads (workload.ts): `shared`, many multi-turn sessions sharing system
 * prompts with growing histories, and `unique`, the same request sizes with nothing shared. Each
 * runs under three routing profiles in one run: round-robin and least-loaded (the baselines) and
 * the default profile (prefix and session affinity with bounded load). Every workload × profile
 * gets a fresh pool, so no profile inherits another's warm caches.
 *
 * Prints a row per run (throughput, TTFT p50/p99, prefix-cache hit rate), the ratios against the
 * baselines with the targets, and last:
 *   routing: default p99 TTFT = N.NN× round-robin, prefix hit rate = N.NN× round-robin
 */
import { loadavg } from 'node:os';
import { startSimPool } from '../../test/helpers/sim-pool.ts';
import { runPlan, sendTurn } from './client.ts';
import { parseRoutingArgs, type RoutingBenchOptions } from './options.ts';
import { figures, figuresTable, type ProfileName, type RunFigures, summaryLine, verdicts, verdictTable } from './report.ts';
import { planWorkload, type WorkloadName } from './workload.ts';

/** Users arrive over this long at the start of a run (runPlan). */
const RAMP_MS = 2_000;
const PROFILES: ProfileName[] = ['round-robin', 'least-loaded', 'default'];
const WORKLOADS: WorkloadName[] = ['shared', 'unique'];
const out = (line = '') => process.stdout.write(`${line}\n`);

async function runOne(o: RoutingBenchOptions, workload: WorkloadName, profile: ProfileName): Promise<RunFigures> {
  const pool = await startSimPool({
    replicas: o.replicas,
    // The long-context variant's 16k context (motif/SPEC.md): the deepest turns need ~5k tokens.
    sim: { maxContextTokens: 16_384 },
    originEnv: { MOTIF_MAX_RUNNING: String(o.maxRunning), MOTIF_MAX_QUEUE: '256' },
    edgeEnv: { MOTIF_ROUTING_PROFILE: profile, MOTIF_EDGE_RPM: '0', MOTIF_EDGE_TPM: '0', MOTIF_EDGE_MAX_CONCURRENT: '0', MOTIF_EDGE_MONTHLY_TOKENS: '0' },
  });
  try {
    const target = { edgeUrl: pool.stack.edgeUrl, apiKey: pool.stack.apiKey, model: pool.stack.model, maxTokens: o.maxTokens };
    const plan = planWorkload(workload, o.workload);
    // A running service, not a cold start: every process's request path warmed (JIT,
    // connections), and the apps' system prompts already sent, as the profile routes them.
    await Promise.all(Array.from({ length: 2 * o.replicas }, (_, i) => sendTurn(target, [{ role: 'user', content: `warm-up ${i} ${profile}` }])));
    const systems = workload === 'shared' ? [...new Set(plan.map((s) => s.system))] : [];
    await Promise.all(
      systems.flatMap((system, k) =>
        Array.from({ length: o.replicas }, (_, i) =>
          sendTurn(target, [
            { role: 'system', content: system },
            { role: 'user', content: `warm-up ${k}.${i}` },
          ]),
        ),
      ),
    );
    const t0 = performance.now();
    const results = await runPlan(target, plan, o.clients, RAMP_MS);
    return figures(workload, profile, results, performance.now() - t0);
  } finally {
    await pool.dispose();
  }
}

async function main(o: RoutingBenchOptions): Promise<void> {
  out(
    `bench:routing — ${o.replicas} simulated replicas (max running ${o.maxRunning}) behind the Node edge, ${o.clients} concurrent clients, ` +
      `${o.workload.sessions} sessions × ${o.workload.turns} turns, ${o.maxTokens} tokens per answer (load ${loadavg()[0]!.toFixed(2)})`,
  );
  const rows: RunFigures[] = [];
  for (const workload of WORKLOADS.filter((w) => !o.only || o.only === w)) {
    for (const profile of PROFILES) {
      const r = await runOne(o, workload, profile);
      rows.push(r);
      out(`  done: ${workload} × ${profile} in ${r.wallS.toFixed(1)} s`);
    }
  }
  out();
  for (const line of figuresTable(rows)) out(line);
  out();
  for (const line of verdictTable(verdicts(rows))) out(line);
  out();
  out(summaryLine(rows));
}

let opts: RoutingBenchOptions;
try {
  opts = parseRoutingArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench:routing: ${(err as Error).message}\n`);
  process.exit(2);
}
main(opts).catch((err: unknown) => {
  process.stderr.write(`bench:routing failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
