import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('./gen-model.ts', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gen-model-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('scripts/gen-model.ts', () => {
  it('generates the tiny model, then reports it up to date', async () => {
    const out = join(root, 'tiny');
    const first = await run(['--out', out, '--preset', 'tiny', '--seed', '3', '--shards', '1', '--dtype', 'F32']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/: 6 files, [\d.]+ MB \([\d.]+ s, \d+ MB\/s\)/);
    expect((await readdir(out)).sort()).toContain('model.safetensors');
    const second = await run(['--out', out, '--preset', 'tiny', '--seed', '3', '--shards', '1', '--dtype', 'F32']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('already up to date');
  }, 60_000);

  it.each([
    ['an unknown preset', ['--preset', 'huge'], /preset/],
    ['a non-numeric seed', ['--preset', 'tiny', '--seed', 'abc'], /seed/],
    ['an unknown flag', ['--preset', 'tiny', '--bogus'], /usage: gen-model/],
    ['a missing --preset', [], /usage: gen-model/],
  ])(
    'exits 2 with a message on %s',
    async (_name, args, message) => {
      const res = await run(['--out', join(root, 'never'), ...args]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(message);
    },
    60_000,
  );
});
