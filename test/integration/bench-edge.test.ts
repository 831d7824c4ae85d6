/**
 * `npm run bench:edge -- --quick` end to end: the real edge process, the canned upstream and the
 * load client start, every phase gets answers through the edge (routing, the seeded key and both
 * directions' signatures held) and the tables print, with the edge's profile read back. Speed is never asserted: the machine is shared.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/stack/processes.ts';

describe('npm run bench:edge -- --quick --cpu-prof', () => {
  it('starts the edge, the upstream and the client, and prints its tables and the edge profile', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(REPO_ROOT, 'bench/edge/run.ts'), '--quick', '--cpu-prof'],
        { cwd: REPO_ROOT, timeout: 170_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(code, stderr).toBe(0);
    for (const want of [
      'every round',
      'direct',
      'non-stream, 1 conn, p50 (ms)',
      'non-stream, 50 conn, throughput (req/s)',
      'stream, 1 conn, TTFB p50 (ms)',
      'edge CPU per request',
      'edge RSS',
      'bare node:http proxy, same core',
      "where the edge's CPU goes (--cpu-prof): top self time inside the edge's measured phases",
    ])
      expect(stdout).toContain(want);
    // Every phase got answers, through the edge too (the routing, the key and the signatures held).
    expect(stderr).not.toMatch(/errors, first:/);
  }, 180_000);
});
