/**
 * Child processes of the local stack: spawn with prefixed logs, wait for an HTTP readiness probe,
 * and stop with SIGTERM → SIGKILL escalation so Ctrl-C never leaves orphans behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: TypeScript entry points are resolved against it. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where to send the child's output lines (prefixed with the name); undefined = inherit quietly. */
  log?: (line: string) => void;
}

export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group, so a stop also reaches grandchildren (wrangler → workerd).
    detached: true,
  });
  const log = opts.log;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        log?.(`[${opts.name}] ${line}`);
      }
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.on('error', () => resolve('spawn-error'));
  });
  let stopping: Promise<void> | undefined;
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  return {
    name: opts.name,
    child,
    exited,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        signalGroup('SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
        signalGroup('SIGKILL'); // grandchildren that ignored SIGTERM
      })();
      return stopping;
    },
  };
}

/** Run a TypeScript entry point of the repo (e.g. `origin/src/main.ts`) in Node with tsx as the loader. */
export function spawnTsx(opts: Omit<SpawnOptions, 'command' | 'args' | 'cwd'> & { file: string; args?: string[] }): ManagedProcess {
  return spawnManaged({
    ...opts,
    command: process.execPath,
    args: ['--import', 'tsx', join(REPO_ROOT, opts.file), ...(opts.args ?? [])],
    cwd: REPO_ROOT,
  });
}

/** Poll `url` until it answers 2xx, the process exits, or the timeout passes. */
export async function waitForHttp(url: string, proc: ManagedProcess | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | string | undefined;
  void proc?.exited.then((c) => (exitedWith = c));
  let lastError = '';
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) throw new Error(`${proc?.name} exited (${exitedWith}) before it was ready at ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${url} (${lastError})`);
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
