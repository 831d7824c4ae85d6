/**
 * Child processes of the local stack: spawn with prefixed logs, wait for an HTTP readiness probe,
 * and stop with SIGTERM → SIGKILL escalation of the child's whole process group, so Ctrl-C never
 * leaves orphans behind (wrangler runs workerd and esbuild under it). A ProcessSet knows every
 * child from the moment it is spawned, so a stop during start-up reaches all of them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The repository root: TypeScript entry points are resolved against it. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** SIGTERM to the child's group, SIGKILL after `graceMs`; idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL the child's group now (a forced stop); a no-op once a stop has swept the group. */
  kill(): void;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where to send the child's output lines (prefixed with the name); undefined = inherit quietly. */
  log?: (line: string) => void;
  /** A stdin pipe only this process holds: it closes when this process dies, however it dies. */
  stdinPipe?: boolean;
}

export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: [opts.stdinPipe ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    // Own process group, so a stop also reaches grandchildren (wrangler → workerd). The flip side:
    // a signal to *our* group (Ctrl-C, `timeout`) does not reach them, so the parent forwards it.
    detached: true,
  });
  // The pipe must not keep this process alive; it is never written to.
  (child.stdin as Socket | null)?.unref();
  child.stdin?.on('error', () => {});
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
  // After the final sweep the group id may be reused by an unrelated process: never signal it again.
  let swept = false;
  const signalGroup = (sig: NodeJS.Signals) => {
    if (swept || !child.pid) return;
    try {
      process.kill(-child.pid, sig);
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
        signalGroup('SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
        signalGroup('SIGKILL'); // grandchildren that ignored SIGTERM or outlived the leader
        swept = true;
      })();
      return stopping;
    },
    kill() {
      signalGroup('SIGKILL');
    },
  };
}

/**
 * Every child of one run, registered the moment it is spawned rather than when start-up
 * finishes. Once stopping, a child registered late (spawned by a start-up step that was already
 * under way) is stopped at once.
 */
export class ProcessSet {
  readonly #procs = new Set<ManagedProcess>();
  #closed = false;

  add<T extends ManagedProcess>(proc: T): T {
    this.#procs.add(proc);
    if (this.#closed) void proc.stop();
    return proc;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stop every child (SIGTERM to its group, SIGKILL after `graceMs`); idempotent. */
  async stopAll(graceMs?: number): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#procs].map((p) => p.stop(graceMs)));
  }

  /** SIGKILL every child's group now: a second Ctrl-C, or this process exiting with children up. */
  killAll(): void {
    this.#closed = true;
    for (const p of this.#procs) p.kill();
  }
}

/**
 * Preloaded into Node children with a stdin pipe: when the pipe closes (the parent died, even by
 * SIGKILL, which it cannot forward), the child signals its own group, so its normal SIGTERM
 * shutdown runs and grandchildren (workerd) go too.
 */
const EXIT_WITH_PARENT = `data:text/javascript,${encodeURIComponent(
  'process.stdin.on("end",()=>{try{process.kill(-process.pid,"SIGTERM")}catch{process.kill(process.pid,"SIGTERM")}});' +
    'process.stdin.on("error",()=>{});process.stdin.resume();process.stdin.unref();',
)}`;

/**
 * Run a Node script; `exitWithParent` makes the child stop itself if this process dies. A
 * `launcher` runs Node through a command that execs it (e.g. `taskset -c 0`), so the child's pid
 * is still Node's.
 */
export function spawnNode(
  opts: Omit<SpawnOptions, 'command' | 'args' | 'stdinPipe'> & {
    script: string;
    args?: string[];
    nodeArgs?: string[];
    exitWithParent?: boolean;
    launcher?: string[];
  },
): ManagedProcess {
  const watch = opts.exitWithParent ? ['--import', EXIT_WITH_PARENT] : [];
  const node = [process.execPath, ...(opts.nodeArgs ?? []), ...watch, opts.script, ...(opts.args ?? [])];
  const [command, ...args] = [...(opts.launcher ?? []), ...node];
  return spawnManaged({ ...opts, command: command!, args, stdinPipe: opts.exitWithParent });
}

/** Run a TypeScript entry point of the repo (e.g. `origin/src/main.ts`) in Node with tsx as the loader. */
export function spawnTsx(
  opts: Omit<SpawnOptions, 'command' | 'args' | 'cwd' | 'stdinPipe'> & {
    file: string;
    args?: string[];
    exitWithParent?: boolean;
    launcher?: string[];
    /** Node flags before the tsx loader (e.g. `--cpu-prof`). */
    nodeArgs?: string[];
  },
): ManagedProcess {
  return spawnNode({ ...opts, script: join(REPO_ROOT, opts.file), nodeArgs: [...(opts.nodeArgs ?? []), '--import', 'tsx'], cwd: REPO_ROOT });
}

/** Poll `url` until it answers 2xx, the process exits, the signal aborts, or the timeout passes. */
export async function waitForHttp(url: string, proc: ManagedProcess | undefined, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | string | undefined;
  void proc?.exited.then((c) => (exitedWith = c));
  let lastError = '';
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    if (exitedWith !== undefined) throw new Error(`${proc?.name} exited (${exitedWith}) before it was ready at ${url}`);
    try {
      const timeout = AbortSignal.timeout(2000);
      const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      if (res.ok) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(200, undefined, { signal });
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${url} (${lastError})`);
}

export { freePort } from '#shared/adapters/node/free-port.ts';

/**
 * Why `port` cannot be listened on at 127.0.0.1 (where the stack listens), or null if it can.
 * A listener on 0.0.0.0 or [::] blocks it too, so it counts as in use.
 */
export function portProblem(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'EADDRINUSE' ? 'already in use' : err.code === 'EACCES' ? 'not allowed (a privileged port)' : (err.code ?? err.message));
    });
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(null)));
  });
}
