/**
 * The soak as the README gives it, `npm run soak -- --minutes N`, run as a process: ~0.5 minute
 * in the fast subset, 10 minutes in the full run. It must exit 0 (every bound held); its figures
 * join the suite's table.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/stack/processes.ts';
import { byMode, recordFigure } from './figures.ts';
import type { SoakReport } from './soak.ts';

const MINUTES = byMode(0.5, 10);
const dir = mkdtempSync(join(tmpdir(), 'motif-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`soak: npm run soak -- --minutes ${MINUTES}`, () => {
  it(
    'holds every bound (RSS slope, fd drift, event-loop delay, no unexpected answer, both processes up)',
    async () => {
      const json = join(dir, 'report.json');
      const started = Date.now();
      const run = await new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          'npm',
          ['run', '-s', 'soak', '--', '--minutes', String(MINUTES), '--json', json],
          { cwd: REPO_ROOT, maxBuffer: 64 << 20 },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr }),
        );
      });
      const report = JSON.parse(readFileSync(json, 'utf8')) as SoakReport;
      for (const f of report.figures) recordFigure(f);
      recordFigure({ group: 'soak', name: 'wall time (s)', value: Math.round((Date.now() - started) / 1000) });
      expect(run.code, run.out.slice(-3000)).toBe(0);
      expect(report.ok).toBe(true);
    },
    (MINUTES * 60 + 180) * 1000,
  );
});
