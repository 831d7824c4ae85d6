/**
 * Pieces of `npm run bench:edge` around the measurement: waiting for a child's log line and
 * printing the edge's CPU profile.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagedProcess } from '../../scripts/stack/processes.ts';
import { type CpuProfile, topSelfTime } from './profile.ts';
import { formatColumns } from './stats.ts';

/** The profile's report lines: top self-time functions inside `windows`, then the areas. */
export function profileReport(profDir: string, windows: [number, number][], root: string, top: number): string[] {
  const lines: string[] = [];
  const out = (l = '') => lines.push(l);
  const files = readdirSync(profDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(profDir, f));
  const file = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (!file) {
    out('--cpu-prof: the edge wrote no profile');
    return lines;
  }
  const summary = topSelfTime(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, windows, top, root);
  out();
  out(
    `where the edge's CPU goes (--cpu-prof): top self time ${summary.windowed ? "inside the edge's measured phases" : 'over the whole profile (the phase windows did not match its clock)'}, ${summary.busyMs.toFixed(0)} ms busy`,
  );
  const rows = [
    ['self ms', 'share', 'function', 'where'],
    ...summary.top.map((f) => [f.selfMs.toFixed(0), `${(100 * f.share).toFixed(1)}%`, f.name, f.location]),
  ];
  for (const l of formatColumns(rows, { left: [2, 3] })) out(l);
  out('  by area:');
  for (const l of formatColumns(
    summary.areas.map((a) => [a.area, a.selfMs.toFixed(0), `${(100 * a.share).toFixed(1)}%`]),
    { indent: '    ' },
  ))
    out(l);
  return lines;
}

/** Resolve with the first capture of `re` in `proc`'s log lines. */
export function waitForLine(re: RegExp, proc: ManagedProcess, lines: string[], waiters: Set<() => void>): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${re}\n${lines.slice(-20).join('\n')}`)), 60_000);
    const check = () => {
      for (const l of lines) {
        const m = re.exec(l);
        if (m) return done(undefined, m[1]);
      }
    };
    const done = (err?: Error, value?: string) => {
      clearTimeout(timer);
      waiters.delete(check);
      if (err) reject(err);
      else resolve(value!);
    };
    void proc.exited.then((code) => done(new Error(`${proc.name} exited (${code})\n${lines.slice(-20).join('\n')}`)));
    waiters.add(check);
    check();
  });
}
