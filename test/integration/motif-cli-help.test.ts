/**
 * `npm run motif -- --help` and friends print the usage (exit 0, stdout); command-line mistakes
 * print one line and the usage on stderr and exit 2, never node's parser text or a stack trace.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function motif(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'motif', '--', ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('motif CLI usage', () => {
  it('--help, -h, help and <command> --help print the usage on stdout', async () => {
    const runs = await Promise.all([['--help'], ['-h'], ['help'], ['generate', '--help']].map(motif));
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^usage: npm run -s motif -- <logits\|generate\|tokenize> --model <dir>/);
    }
  });

  it.each([
    [['--frobnicate'], 'motif: unknown option --frobnicate'],
    [['logits', '--model', 'm', '--ids', '1', 'extra'], "motif: unexpected argument 'extra'"],
    [['--model', 'm', '--ids', '1'], 'motif: give a command: logits, generate or tokenize'],
  ])('%j → exit 2, "%s", then the usage', async (args, line) => {
    const r = await motif(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe(line);
    expect(r.stderr.split('\n')[1]).toMatch(/^usage: /);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
