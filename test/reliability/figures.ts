/**
 * The reliability suite's figures: each test records what it measured (faults survived, requests
 * fuzzed, 5xx seen, records lost or duplicated, RSS slope…) and figures-reporter.ts prints
 * them as one table. Figures go through a JSON-lines file because vitest runs test files in
 * workers and the table is printed by the main process.
 */
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../../scripts/stack/processes.ts';

export interface Figure {
  /** Which part of the suite measured it: `faults`, `fuzz`, `load`, `soak`, `holes`. */
  group: string;
  name: string;
  value: number | string;
  /** The bound it must hold, in words (`= 0`, `< 64 MB`), shown beside the value. */
  bound?: string;
  /** Whether the value holds its bound (the test asserts it too; the table shows it). */
  ok?: boolean;
}

export const FIGURES_FILE = process.env.MOTIF_FIGURES_FILE ?? join(REPO_ROOT, '.data', 'reliability', 'figures.jsonl');

/** `full` under `npm run test:reliability`; `fast` inside the default `npm test`. */
export const MODE: 'fast' | 'full' = process.env.MOTIF_RELIABILITY === 'full' ? 'full' : 'fast';

/** Pick a size by mode: the fast subset keeps `npm test` quick, the full run proves the claim. */
export function byMode<T>(fast: T, full: T): T {
  return MODE === 'full' ? full : fast;
}

export function recordFigure(figure: Figure): void {
  mkdirSync(dirname(FIGURES_FILE), { recursive: true });
  appendFileSync(FIGURES_FILE, `${JSON.stringify(figure)}\n`);
}

export function resetFigures(): void {
  rmSync(FIGURES_FILE, { force: true });
}

export function readFigures(): Figure[] {
  let text: string;
  try {
    text = readFileSync(FIGURES_FILE, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Figure);
}

/** One table, grouped, in the order the figures were recorded within each group. */
export function formatFigures(figures: readonly Figure[]): string {
  if (figures.length === 0) return '(no figures recorded)';
  const rows = [...figures]
    .map((f, i) => ({ f, i }))
    .sort((a, b) => a.f.group.localeCompare(b.f.group) || a.i - b.i)
    .map(({ f }) => [f.group, f.name, String(f.value), f.bound ?? '', f.ok === undefined ? '' : f.ok ? 'ok' : 'FAIL']);
  const head = ['group', 'figure', 'value', 'bound', ''];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
