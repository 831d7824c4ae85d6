import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, ProcessSet, portProblem, spawnManaged, spawnNode } from './processes.ts';

/** A shell that starts a grandchild (`sleep`) in its group and prints its pid. */
function shellWithGrandchild(script = '') {
  const lines: string[] = [];
  const proc = spawnManaged({ name: 'sh', command: 'sh', args: ['-c', `${script} sleep 30 & echo $!; wait`], env: process.env, log: (l) => lines.push(l) });
  const grandchild = async () => {
    while (lines.length === 0) await new Promise((r) => setTimeout(r, 10));
    return Number(lines[0]!.replace('[sh] ', ''));
  };
  return { proc, grandchild };
}

/** Running (a killed grandchild may linger as a zombie until init reaps it: that counts as gone). */
async function alive(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    let state: string;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!;
    } catch {
      return false;
    }
    if (state === 'Z' || state === 'X') return false;
    await new Promise((r) => setTimeout(r, 10)); // a signal just sent may not have landed yet
  }
  return true;
}

describe('spawnManaged stop', () => {
  it('stops the whole process group, grandchildren included', async () => {
    const { proc, grandchild } = shellWithGrandchild();
    const pid = await grandchild();
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toMatch(/\) [RS] /);
    await proc.stop();
    expect(await alive(pid)).toBe(false);
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const { proc, grandchild } = shellWithGrandchild('trap "" TERM;');
    const pid = await grandchild();
    const t0 = Date.now();
    await proc.stop(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(await proc.exited).toBe('SIGKILL');
    expect(await alive(pid)).toBe(false);
  });
});

describe('spawnNode launcher', () => {
  it('runs Node through a command that execs it: the child pid is Node, and the launcher applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'launcher-'));
    try {
      const script = join(dir, 'print.mjs');
      writeFileSync(script, 'console.log([process.pid, process.env.LAUNCHED, process.argv.slice(2).join(",")].join(" "));\n');
      const lines: string[] = [];
      const proc = spawnNode({ name: 'n', script, args: ['a', 'b'], env: process.env, launcher: ['env', 'LAUNCHED=yes'], log: (l) => lines.push(l) });
      expect(await proc.exited).toBe(0);
      // 'exit' can come before the last stdout chunk is read.
      for (let i = 0; i < 200 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(lines).toEqual([`[n] ${proc.child.pid} yes a,b`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ProcessSet', () => {
  it('stops a child registered after stopping began (spawned by a start-up step already under way)', async () => {
    const set = new ProcessSet();
    const first = set.add(shellWithGrandchild().proc);
    const stopped = set.stopAll(1000);
    const late = shellWithGrandchild();
    set.add(late.proc);
    await stopped;
    expect(await first.exited).toBeDefined();
    expect(await late.proc.exited).toBeDefined();
  });

  it('killAll kills every group at once, without waiting for SIGTERM handling', async () => {
    const set = new ProcessSet();
    const a = shellWithGrandchild('trap "" TERM;');
    set.add(a.proc);
    const pid = await a.grandchild();
    set.killAll();
    expect(await a.proc.exited).toBe('SIGKILL');
    expect(await alive(pid)).toBe(false);
    expect(set.closed).toBe(true);
  });
});

describe('portProblem', () => {
  it('names a port in use and passes a free one', async () => {
    const srv = createServer();
    const port = await freePort();
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
    try {
      expect(await portProblem(port)).toBe('already in use');
    } finally {
      srv.close();
    }
    expect(await portProblem(await freePort())).toBeNull();
  });
});
