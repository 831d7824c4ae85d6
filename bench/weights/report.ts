/**
 * bench:weights' verdict: per layout (endpoint on its own core, or sharing the cores), the ratios
 * of our sync to aws-cli and to the serving limit, each the median over rounds of ours / the other
 * in the same round, against the targets. And where aws-cli is: the ratio to it is a target, so a
 * machine without it must not print a silent n/a.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export type Layout = 'pinned' | 'shared';
export type Kind = 'ours' | 'serving' | 'signed' | 'aws' | 'aws+sync' | 'other';

export interface Sample {
  rate: number;
  /** CPU milliseconds per MiB moved, of the client (this process and its children) and of the server. */
  clientMs: number;
  serverMs: number;
}

/** The rounds of one layout: every variant's sample per round (null: the tool did not run). */
export interface LayoutRounds {
  layout: Layout;
  kinds: Kind[];
  rounds: (Sample | null)[][];
}

/** What each layout must reach: share of the serving limit, multiple of aws-cli. */
export const TARGETS: Record<Layout, { serving: number; aws: number }> = {
  pinned: { serving: 0.8, aws: 1.5 },
  shared: { serving: 0.6, aws: 1.5 },
};

export const LAYOUT_TITLE: Record<Layout, string> = {
  pinned: 'endpoint on its own core (server on core 0, clients on core 1)',
  shared: 'endpoint sharing the cores with the clients',
};

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/** Median over rounds of (best `ours` in the round) / (best `kind` in the round); null if none paired. */
export function pairedRatio(r: LayoutRounds, kind: Kind): number | null {
  const best = (row: (Sample | null)[], k: Kind) => Math.max(0, ...row.flatMap((x, i) => (x && r.kinds[i] === k ? [x.rate] : [])));
  const rs = r.rounds.map((row) => best(row, 'ours') / best(row, kind)).filter((x) => Number.isFinite(x) && x > 0);
  return rs.length ? median(rs) : null;
}

/** The four target lines (two per layout) and whether every one was met. */
export function verdict(layouts: LayoutRounds[]): { lines: string[]; met: boolean } {
  const lines: string[] = [];
  let met = true;
  for (const r of layouts) {
    const t = TARGETS[r.layout];
    const serving = pairedRatio(r, 'serving');
    const aws = pairedRatio(r, 'aws');
    const awsSync = pairedRatio(r, 'aws+sync');
    const ok = (x: number | null, min: number) => x !== null && x >= min;
    met &&= ok(serving, t.serving) && ok(aws, t.aws);
    const mark = (x: number | null, min: number) => (ok(x, min) ? 'met' : 'NOT met');
    const pct = (x: number | null) => (x === null ? 'none paired' : `${(100 * x).toFixed(0)}%`);
    const times = (x: number | null) => (x === null ? 'none paired' : `${x.toFixed(2)}×`);
    lines.push(
      `  ${r.layout.padEnd(7)} ours/serving-limit ${pct(serving).padStart(6)}  (target ≥ ${(100 * t.serving).toFixed(0)}%: ${mark(serving, t.serving)})`,
      `  ${r.layout.padEnd(7)} ours/aws-cli       ${times(aws).padStart(6)}  (target ≥ ${t.aws}×: ${mark(aws, t.aws)}; vs aws-cli + sync ${times(awsSync)})`,
    );
  }
  return { lines, met };
}

/**
 * The aws-cli to compare with: `$AWS_CLI` if set, else `aws` on PATH. Null when there is none
 * (the caller refuses to run: the ratio to aws-cli is one of the targets).
 */
export function findAwsCli(env: NodeJS.ProcessEnv): { bin: string; version: string } | null {
  const candidates = env.AWS_CLI ? [env.AWS_CLI] : (env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'aws'));
  const bin = candidates.find((c) => c && existsSync(c));
  if (!bin) return null;
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return { bin, version: `${r.stdout}${r.stderr}`.trim().split(' ')[0] || 'aws-cli' };
}

export const AWS_CLI_MISSING =
  'aws-cli not found ($AWS_CLI, or `aws` on PATH), and the ratio to it is a target: ' +
  'install it (`sudo apt-get install awscli`, or `pip install awscli`) or point AWS_CLI at one';
