/**
 * `npm run bench:cache -- --quick` end to end: the real stack starts with the cache on, every
 * miss and hit is answered (the bench itself fails on a wrong x-cache or a hit whose text differs
 * from its miss), and the tables and the verdict print. Speed is never asserted: the machine is
 * shared. Coalescing is: K identical requests at once make one origin call.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/stack/processes.ts';

describe('npm run bench:cache -- --quick', () => {
  it('measures hits against misses and coalescing through the real stack', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(REPO_ROOT, 'bench/cache/run.ts'), '--quick'],
        { cwd: REPO_ROOT, timeout: 170_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(code, stderr).toBe(0);
    for (const want of ['miss p50 (ms)', '32 tokens, non-stream', '128 tokens, stream (to [DONE])', 'K concurrent identical']) expect(stdout).toContain(want);
    expect(stdout).toMatch(/^ {2}50 +1 +1 +49 +0 /m);
    expect(stdout).toMatch(/^cache: hit p50 faster than miss .*K=50 concurrent → 1 origin call$/m);
  }, 180_000);
});
