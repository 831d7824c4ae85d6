/**
 * `npm run soak -- --minutes N`: the appliance stack (embedded S3, origin with the native engine
 * on the tiny model, Node edge) under a mixed load for N minutes — streamed and whole chat and
 * completions, streams cancelled mid-way, bad requests — while the origin's and the edge's
 * resident memory, open file descriptors and event-loop delay are sampled. After a warm-up
 * (a third of the run, at most 3 minutes) it checks:
 *
 * - RSS slope (Theil–Sen, MB/min) of each process ≤ max(4, 40 / measured minutes): 5.7 MB/min
 *   for a 10-minute run; a run whose warm-up ends before the heap settles (3 min) allows
 *   160 / measured minutes, since its slope is mostly the heap still growing;
 * - fd drift (median of the last third of the samples minus the first third) ≤ 25 per process;
 * - event-loop delay p99 (the processes' own gauges, 10 s windows) ≤ 100 ms on the edge and
 *   ≤ 250 ms on the origin, whose engine decodes on its event loop;
 * - no unexpected answer (a 5xx other than 503 + retry-after, a stream cut short, a bad request
 *   not answered with OpenAI error JSON) and both processes up at the end.
 *
 * Prints the figures as a table and exits 1 when a bound is broken (2 on bad arguments).
 * `--json <file>` also writes the report; `--clients N` sets the concurrent clients (default 6).
 */
import { realpathSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { fdCount, rssMb } from '../../scripts/stack/proc-stats.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { type Figure, formatFigures } from './figures.ts';
import { median, type Sample, slopePerMinute } from './support/proc-sample.ts';
import { type MixCounts, runMix } from './support/soak-mix.ts';
import { metricValue, originMetricsHeaders } from './support/stack-probes.ts';

export interface SoakOptions {
  minutes: number;
  clients?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  minutes: number;
  warmupSeconds: number;
  requests: MixCounts;
  figures: Figure[];
  /** Every sample, for plotting or a closer look. */
  series: Record<'edge' | 'origin', { rss: Sample[]; fd: Sample[]; loopP99: Sample[] }>;
  ok: boolean;
}

const ADMIN_TOKEN = 'soak-admin-token-0123456789abcdef';
export const FD_DRIFT_BOUND = 25;
export const LOOP_P99_BOUND_MS = { edge: 100, origin: 250 } as const;
/** The warm-up after which the origin's heap has reached its working size (seen at 2.5–4 min). */
const HEAP_SETTLED_MS = 180_000;
/**
 * A leak is growth that continues after the heap settles: 40 MB over the measured window (5.7
 * MB/min for 10 minutes). A run too short to reach the settled heap also measures its one-time
 * step (up to ~100 MB on the origin), so it allows 160 MB and catches only a gross leak.
 */
export const rssSlopeBound = (measuredMinutes: number, warmupMs: number) => Math.max(4, (warmupMs >= HEAP_SETTLED_MS ? 40 : 160) / measuredMinutes);

type Proc = 'edge' | 'origin';
interface Series {
  rss: Sample[];
  fd: Sample[];
  loopP99: Sample[];
}

async function loopP99Ms(stack: TestStack, proc: Proc): Promise<number> {
  const res = await (proc === 'edge'
    ? fetch(`${stack.edgeUrl}/admin/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    : fetch(`${stack.originUrl}/metrics`, { headers: originMetricsHeaders(stack) })
  ).catch(() => null);
  if (!res?.ok) return Number.NaN;
  return (metricValue(await res.text(), 'motif_event_loop_delay_p99_seconds') ?? Number.NaN) * 1000;
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const durationMs = opts.minutes * 60_000;
  const warmupMs = Math.min(HEAP_SETTLED_MS, durationMs / 3);
  const sampleMs = durationMs >= 300_000 ? 5_000 : 2_000;
  const stack = await startTestStack({ edgeEnv: { MOTIF_ADMIN_TOKEN: ADMIN_TOKEN, MOTIF_EDGE_RPM: '0', MOTIF_EDGE_TPM: '0' } });
  try {
    const pids: Record<Proc, number> = { edge: stack.edge.child.pid!, origin: stack.origin.child.pid! };
    const series: Record<Proc, Series> = { edge: { rss: [], fd: [], loopP99: [] }, origin: { rss: [], fd: [], loopP99: [] } };
    const start = Date.now();
    const end = start + durationMs;
    log(`soak: ${opts.minutes} min of mixed load on ${stack.edgeUrl} (warm-up ${Math.round(warmupMs / 1000)} s, a sample every ${sampleMs / 1000} s)`);
    const sampling = (async () => {
      let next = start;
      while (Date.now() < end) {
        const t = Date.now() - start;
        for (const p of ['edge', 'origin'] as const) {
          series[p].rss.push({ t, v: rssMb(pids[p]) });
          series[p].fd.push({ t, v: fdCount(pids[p]) });
          series[p].loopP99.push({ t, v: await loopP99Ms(stack, p) });
        }
        next += sampleMs;
        await sleep(Math.max(0, Math.min(next, end) - Date.now()));
      }
    })();
    const requests = await runMix({ edgeUrl: stack.edgeUrl, apiKey: stack.apiKey, model: stack.model }, opts.clients ?? 6, end);
    await sampling;
    const up = {
      edge: (await fetch(`${stack.edgeUrl}/healthz`).catch(() => null))?.status === 200,
      origin: (await fetch(`${stack.originUrl}/healthz`).catch(() => null))?.status === 200,
    };
    const figures = judge(series, warmupMs, durationMs, requests, up);
    return { minutes: opts.minutes, warmupSeconds: warmupMs / 1000, requests, figures, series, ok: figures.every((f) => f.ok !== false) };
  } finally {
    await stack.dispose();
  }
}

function judge(series: Record<Proc, Series>, warmupMs: number, durationMs: number, requests: MixCounts, up: Record<Proc, boolean>): Figure[] {
  const measuredMinutes = (durationMs - warmupMs) / 60_000;
  const slopeBound = rssSlopeBound(measuredMinutes, warmupMs);
  const figures: Figure[] = [];
  const add = (name: string, value: number | string, bound?: string, ok?: boolean) => figures.push({ group: 'soak', name, value, bound, ok });
  const total = requests.served + requests.cancelled + requests.refused + requests.badRefused + requests.unexpected;
  add(
    'requests (served / cancelled / refused / bad)',
    `${requests.served} / ${requests.cancelled} / ${requests.refused} / ${requests.badRefused}`,
    `${total} in all`,
  );
  add('unexpected answers', requests.unexpected, '= 0', requests.unexpected === 0);
  for (const p of ['edge', 'origin'] as const) {
    const after = (s: Sample[]) => s.filter((x) => x.t >= warmupMs && Number.isFinite(x.v));
    const rss = after(series[p].rss);
    const fd = after(series[p].fd);
    const loop = after(series[p].loopP99);
    const slope = slopePerMinute(rss);
    const third = Math.max(1, Math.floor(fd.length / 3));
    const drift = median(fd.slice(-third).map((s) => s.v)) - median(fd.slice(0, third).map((s) => s.v));
    const loopMax = Math.max(...loop.map((s) => s.v));
    const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : String(n));
    add(`${p} RSS (MB) after warm-up → end`, `${fmt(rss[0]?.v ?? Number.NaN)} → ${fmt(rss.at(-1)?.v ?? Number.NaN)}`);
    add(`${p} RSS slope (MB/min)`, fmt(slope, 2), `<= ${fmt(slopeBound)}`, slope <= slopeBound);
    add(`${p} open fds drift`, fmt(drift, 0), `<= ${FD_DRIFT_BOUND}`, drift <= FD_DRIFT_BOUND);
    add(`${p} event-loop delay p99, worst window (ms)`, fmt(loopMax), `<= ${LOOP_P99_BOUND_MS[p]}`, loopMax <= LOOP_P99_BOUND_MS[p]);
    add(`${p} up at the end`, up[p] ? 'yes' : 'no', 'yes', up[p]);
  }
  if (requests.examples.length > 0) add('first unexpected answer', requests.examples[0]!);
  return figures;
}

function parseArgs(argv: string[]): { minutes: number; clients?: number; json?: string } {
  const out: { minutes: number; clients?: number; json?: string } = { minutes: 10 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--minutes' && value && Number(value) > 0) out.minutes = Number(value);
    else if (flag === '--clients' && value && Number.isInteger(Number(value)) && Number(value) > 0) out.clients = Number(value);
    else if (flag === '--json' && value) out.json = value;
    else throw new Error(`unknown or invalid argument ${flag ?? ''} ${value ?? ''}`.trim());
    i++;
  }
  return out;
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\nusage: npm run soak -- [--minutes N] [--clients N] [--json report.json]`);
    process.exit(2);
  }
  const report = await runSoak(args);
  console.log(`\nSoak figures (${args.minutes} min)\n${formatFigures(report.figures)}\n`);
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
  console.log(report.ok ? 'soak: every bound held' : 'soak: a bound was broken');
  process.exit(report.ok ? 0 : 1);
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
