/**
 * `npm run bench:edge [-- --quick | --rounds 3 --phase-ms 3000 --connections 50 --cpu-prof --no-pin]`
 *
 * What the Node edge adds in front of an origin: the edge's real composition root (edge/src/node.ts
 * in its own process: SQLite key store with a seeded API key, limits on but set high enough never
 * to refuse, usage ledger fed by the upstream's signed deliveries) in front of a canned upstream
 * that speaks the origin protocol (upstream.ts), against the same load client (load.ts, its own
 * process) calling that upstream directly, in one run. Interleaved rounds of three phases each,
 * direct and via the edge back to back (the order alternates per round):
 *   (after a warm-up of every target at N connections, so V8 has optimised the request path)
 *   - non-stream at 1 connection: added p50/p99 latency
 *   - non-stream at N connections (closed loop): added p50/p99, req/s (the edge on one core)
 *   - stream at 1 connection: added time to first byte
 * and, from /proc, the edge's CPU µs per request (utime+stime delta / requests, usage deliveries
 * included) and RSS. The edge is pinned to core 0 and everything else to core 1 with taskset
 * (a warning says so when that is not possible). Prints every round, the medians, the ratios and
 * the targets beside them. With --cpu-prof: the edge's top self-time functions.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseKeyring } from '#shared/signing.ts';
import { cpuUs, rssMb, runqueueWaitUs } from '../../scripts/stack/proc-stats.ts';
import { freePort, ProcessSet, REPO_ROOT, spawnTsx, waitForHttp } from '../../scripts/stack/processes.ts';
import { type LoadClient, type PhaseSpec, startLoadClient } from './load.ts';
import { type BenchOptions, parseBenchArgs } from './options.ts';
import { profileReport, waitForLine } from './run-support.ts';
import { compare, comparisonTable, medianRound, type PathRound, processTable, type Round, roundsTable } from './stats.ts';
import { BENCH_MODEL } from './upstream.ts';

const NODE = 'bench';
const out = (line = '') => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`bench:edge: ${line}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Whether taskset can place processes on cores 0 and 1. */
function canPin(): boolean {
  return cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

async function main(opts: BenchOptions): Promise<void> {
  const pin = opts.pin && canPin();
  if (opts.pin && !pin) warn('taskset unavailable or fewer than 2 cores: NOT pinned, the edge shares cores with the load (req/s is not "on one core")');
  // This process idles during phases, but keep it off the edge's core too.
  if (pin) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)]);
  const dir = mkdtempSync(join(tmpdir(), 'motif-bench-edge-'));
  const profDir = join(dir, 'cpu-prof');
  const procs = new ProcessSet();
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const log = (line: string) => {
    lines.push(line);
    if (lines.length > 400) lines.splice(0, 200);
    for (const w of waiters) w();
  };
  let client: LoadClient | undefined;
  const onSignal = () => {
    client?.child.kill('SIGKILL');
    procs.killAll();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const edgeWindows: [number, number][] = [];
  const loadStart = load();
  try {
    const forward = `edge:${randomBytes(16).toString('hex')}`;
    const nodeKey = `${NODE}-key:${randomBytes(16).toString('hex')}`;
    const apiKey = `sk-bench-${randomBytes(16).toString('hex')}`;
    const edgePort = await freePort();
    const edgeUrl = `http://127.0.0.1:${edgePort}`;
    const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOTIF_')));
    const edge = procs.add(
      spawnTsx({
        name: 'edge',
        file: 'edge/src/node.ts',
        launcher: pin ? ['taskset', '-c', '0'] : undefined,
        nodeArgs: opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
        exitWithParent: true,
        log,
        env: {
          ...cleanEnv,
          MOTIF_EDGE_HOST: '127.0.0.1',
          MOTIF_EDGE_PORT: String(edgePort),
          MOTIF_EDGE_DATA_DIR: join(dir, 'edge'),
          MOTIF_ORIGIN_SECRET: forward,
          MOTIF_NODE_KEYS: `${nodeKey}@${NODE}`,
          MOTIF_DEV_API_KEY: apiKey,
          MOTIF_KEY_PEPPER: `bench-key-pepper-${randomBytes(16).toString('hex')}`,
          // Limits on, never refusing: the limiter's work is measured, its 429s are not.
          MOTIF_EDGE_RPM: '1000000000',
          MOTIF_EDGE_TPM: '1000000000000',
        },
      }),
    );
    await waitForHttp(`${edgeUrl}/healthz`, edge, 60_000);
    const upstream = procs.add(
      spawnTsx({
        name: 'upstream',
        file: 'bench/edge/upstream.ts',
        launcher: pin ? ['taskset', '-c', '1'] : undefined,
        exitWithParent: true,
        log,
        env: {
          ...cleanEnv,
          MOTIF_ORIGIN_SECRET: forward,
          MOTIF_NODE_KEY: nodeKey,
          MOTIF_NODE_ID: NODE,
          MOTIF_REPLICA_ID: `${NODE}-r1`,
          MOTIF_EDGE_URL: edgeUrl,
        },
      }),
    );
    const upstreamUrl = await waitForLine(/\[upstream\] upstream listening (\S+)/, upstream, lines, waiters);
    const floor = procs.add(
      spawnTsx({
        name: 'floor',
        file: 'bench/edge/floor-proxy.ts',
        launcher: pin ? ['taskset', '-c', '0'] : undefined,
        exitWithParent: true,
        log,
        env: { ...cleanEnv, MOTIF_FLOOR_UPSTREAM: upstreamUrl },
      }),
    );
    const floorUrl = await waitForLine(/\[floor\] floor listening (\S+)/, floor, lines, waiters);
    await waitRouted(edgeUrl, apiKey, lines);
    client = startLoadClient(pin ? ['taskset', '-c', '1'] : []);
    const c = client;

    const drained = async () => {
      for (let i = 0; i < 600; i++) {
        const s = (await (await fetch(`${upstreamUrl}/_bench/state`)).json()) as { pendingUsage: number };
        if (s.pendingUsage === 0) return;
        await sleep(50);
      }
      throw new Error('usage records were not delivered to the edge within 30 s');
    };
    const pids = { edge: edge.child.pid!, upstream: upstream.child.pid!, floor: floor.child.pid! };
    type Kind = 'c1' | 'cN' | 'stream';
    // The floor proxy passes the load client's signed request through unchanged.
    const measure = async (side: 'direct' | 'edge' | 'floor', kind: Kind) => {
      const proxyPid = side === 'floor' ? pids.floor : pids.edge;
      const spec: PhaseSpec = {
        url: side === 'edge' ? edgeUrl : side === 'floor' ? floorUrl : upstreamUrl,
        auth: side === 'edge' ? { kind: 'bearer', apiKey } : { kind: 'signed', key: parseKeyring(forward).signing },
        model: BENCH_MODEL,
        stream: kind === 'stream',
        connections: kind === 'cN' ? opts.connections : 1,
        durationMs: opts.phaseMs,
      };
      if (opts.warmupMs > 0) await c.call({ ...spec, durationMs: opts.warmupMs });
      await drained();
      const [e0, u0, w0, t0] = [cpuUs(proxyPid), cpuUs(pids.upstream), runqueueWaitUs(proxyPid), nowUs()];
      const r = await c.call(spec);
      // The usage deliveries these requests caused are the edge's work too.
      await drained();
      const [e1, u1, w1, t1] = [cpuUs(proxyPid), cpuUs(pids.upstream), runqueueWaitUs(proxyPid), nowUs()];
      if (side === 'edge') edgeWindows.push([t0, t1]);
      if (r.errors > 0) warn(`${side} ${kind}: ${r.errors} errors, first: ${r.firstError}`);
      if (r.requests === 0) throw new Error(`${side} ${kind}: no request succeeded`);
      return { r, edgeCpuUs: e1 - e0, edgeWaitUs: w1 - w0, upstreamCpuUs: u1 - u0, loadSideUs: u1 - u0 + r.clientCpuUs };
    };

    // A long-running edge runs optimised code. The per-phase warm-up at 1 connection is a few
    // dozen requests, too few for V8 to optimise the request path, so every target first takes
    // a few thousand requests at N connections; the rounds then measure hot code only.
    for (const target of [edgeUrl, upstreamUrl, floorUrl]) {
      const auth: PhaseSpec['auth'] = target === edgeUrl ? { kind: 'bearer', apiKey } : { kind: 'signed', key: parseKeyring(forward).signing };
      for (const stream of [false, true])
        await c.call({ url: target, auth, model: BENCH_MODEL, stream, connections: opts.connections, durationMs: opts.quick ? 200 : 2000 });
    }
    const rounds: Round[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      process.stderr.write(`round ${i + 1} of ${opts.rounds}…\n`);
      const sides = i % 2 === 0 ? (['direct', 'edge'] as const) : (['edge', 'direct'] as const);
      const got = { direct: {} as Record<Kind, Awaited<ReturnType<typeof measure>>>, edge: {} as Record<Kind, Awaited<ReturnType<typeof measure>>> };
      for (const kind of ['c1', 'cN', 'stream'] as const) for (const side of sides) got[side][kind] = await measure(side, kind);
      const floorCN = await measure('floor', 'cN');
      const floorC1 = await measure('floor', 'c1');
      const path = (side: 'direct' | 'edge'): PathRound => ({
        c1: got[side].c1.r.latency,
        cN: { ...got[side].cN.r.latency, rps: got[side].cN.r.rps },
        ttfb: got[side].stream.r.latency,
        errors: got[side].c1.r.errors + got[side].cN.r.errors + got[side].stream.r.errors,
      });
      const e = got.edge;
      rounds.push({
        direct: path('direct'),
        edge: path('edge'),
        proc: {
          cpuUsPerReqC1: e.c1.edgeCpuUs / e.c1.r.requests,
          cpuUsPerReqCN: e.cN.edgeCpuUs / e.cN.r.requests,
          coreBusyCN: e.cN.edgeCpuUs / (1000 * e.cN.r.elapsedMs),
          starvedCN: e.cN.edgeWaitUs / (1000 * e.cN.r.elapsedMs),
          rssMb: rssMb(pids.edge),
          loadSideBusyCN: e.cN.loadSideUs / (1000 * e.cN.r.elapsedMs),
          upstreamUsPerReqCN: got.direct.cN.upstreamCpuUs / got.direct.cN.r.requests,
          floorUsPerReqCN: floorCN.edgeCpuUs / floorCN.r.requests,
          floorAddedC1: { p50: floorC1.r.latency.p50 - got.direct.c1.r.latency.p50, p99: floorC1.r.latency.p99 - got.direct.c1.r.latency.p99 },
        },
      });
    }
    const peakRss = rssMb(pids.edge, 'VmHWM');
    const med = medianRound(rounds);
    const N = opts.connections;
    out();
    out(`bench:edge — the Node edge (SQLite keys + limits + usage ledger) in front of a canned upstream, vs the same client straight to the upstream`);
    out(
      `  ${process.version}, ${cpus().length} cores, ${pin ? 'edge pinned to core 0; upstream, load client and this process on core 1' : 'NOT pinned (taskset unavailable or --no-pin)'}`,
    );
    out(
      `  ${opts.rounds} round(s) × (1 conn, ${N} conn, 1 conn stream) × (direct, edge), ${opts.phaseMs} ms per phase after ${opts.warmupMs} ms warm-up; order alternates per round`,
    );
    out(
      `  load average ${loadStart} at start, ${load()} at end: a shared machine is noisy; compare ratios within one run${opts.quick ? '; --quick: a smoke run, numbers mean little' : ''}`,
    );
    if (opts.cpuProf) out('  under --cpu-prof: the edge runs slower than it would unprofiled');
    out();
    out('every round (latencies in ms; edge µs/req at 1 conn / at N conn):');
    for (const l of roundsTable(rounds, N)) out(l);
    out();
    out(`medians of ${opts.rounds} round(s):`);
    for (const l of comparisonTable(compare(med.direct, med.edge, N))) out(l);
    out();
    out('the edge process (medians):');
    for (const l of processTable(med.proc, N)) out(l);
    out(`  edge peak RSS (MB)  ${peakRss.toFixed(1)}`);
    if (med.proc.loadSideBusyCN > 0.9)
      warn(`upstream + client used ${(100 * med.proc.loadSideBusyCN).toFixed(0)}% of their core: the edge's req/s may be limited by the load side`);
  } finally {
    client?.child.disconnect();
    await procs.stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  try {
    if (opts.cpuProf) for (const l of profileReport(profDir, edgeWindows, REPO_ROOT, Number(process.env.BENCH_PROFILE_TOP ?? 10))) out(l);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Wait until the edge lists the model: the upstream's heartbeat arrived. */
async function waitRouted(edgeUrl: string, apiKey: string, lines: string[]): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${edgeUrl}/v1/models/${BENCH_MODEL}`, { headers: { authorization: `Bearer ${apiKey}` } }).catch(() => null);
    if (res?.ok) return;
    await sleep(100);
  }
  throw new Error(`the edge did not route to the upstream within 15 s\n${lines.slice(-20).join('\n')}`);
}

let opts: BenchOptions;
try {
  opts = parseBenchArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench:edge: ${(err as Error).message}\n`);
  process.exit(2);
}
main(opts).catch((err: unknown) => {
  process.stderr.write(`bench:edge failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
