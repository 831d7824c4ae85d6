import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeVllmLauncher, readVllmRecipeFile } from './vllm-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'motif-vllm-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An executable script standing in for vllm. */
function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

describe('node vllm launcher', () => {
  it('passes argv and env, prefixes every output line, keeps the last ones and reports the exit code', async () => {
    const bin = script(
      'prints',
      'echo "args: $*"; echo "gpu=$HIP_VISIBLE_DEVICES" >&2; i=0; while [ $i -lt 50 ]; do echo "line $i"; i=$((i+1)); done; printf "no newline"; exit 3',
    );
    const log: string[] = [];
    const proc = nodeVllmLauncher({ bin, log: (l) => log.push(l), prefix: 'vllm[r0]', keepLines: 5 }).spawn({
      args: ['serve', '/snap'],
      env: { HIP_VISIBLE_DEVICES: '1' },
    });
    expect(await proc.exited).toEqual({ code: 3, signal: null });
    expect(log).toContain('vllm[r0] args: serve /snap');
    expect(log).toContain('vllm[r0] gpu=1');
    expect(log.every((l) => l.startsWith('vllm[r0] '))).toBe(true);
    // stdout and stderr interleave by arrival: the last five lines, whichever stream they came from.
    expect(proc.lastLines()).toHaveLength(5);
    expect(proc.lastLines()).toEqual(expect.arrayContaining(['line 49', 'no newline']));
  });

  it('stop: SIGTERM to the whole group, SIGKILL when it ignores it', async () => {
    const bin = script('stubborn', 'trap "" TERM; sleep 30 & wait; sleep 30');
    const proc = nodeVllmLauncher({ bin, log: () => {}, prefix: 'p' }).spawn({ args: [], env: {} });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await proc.stop(300);
    expect(await proc.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('an executable that does not exist: exits at once, saying why', async () => {
    const proc = nodeVllmLauncher({ bin: join(dir, 'no-such-vllm'), log: () => {}, prefix: 'p' }).spawn({ args: ['serve'], env: {} });
    expect(await proc.exited).toEqual({ code: null, signal: null });
    expect(proc.lastLines().join('\n')).toMatch(/cannot run .*no-such-vllm: .*ENOENT/);
    await proc.stop(10);
  });

  it('freePort gives a port a server can bind', async () => {
    const port = await nodeVllmLauncher({ bin: 'vllm', log: () => {}, prefix: 'p' }).freePort();
    expect(port).toBeGreaterThan(0);
  });

  it('reads the shipped recipe by default; a bad file names itself', () => {
    expect(readVllmRecipeFile(undefined).env.VLLM_ROCM_USE_AITER).toBe('0');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"version":"x"}');
    expect(() => readVllmRecipeFile(bad)).toThrow(new RegExp(`MOTIF_VLLM_RECIPE: ${bad}: .*image`));
  });
});
