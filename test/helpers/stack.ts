/**
 * Starts the real stack (embedded S3, origin process, edge process) on free ports in a temp data
 * dir — the same wiring as `npm start` — for end-to-end suites; and runs `npm start` itself as a
 * process group, finding every process of the run afterwards, for the start/stop suites.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStackConfig } from '../../scripts/stack/config.ts';
import { freePort, REPO_ROOT } from '../../scripts/stack/processes.ts';
import { type Stack, startStack } from '../../scripts/stack/stack.ts';

export interface TestStack extends Stack {
  logs: string[];
  /**
   * The stack's data dir (keys the stack generated live here: dev-origin-secret, dev-node-key;
   * the edge's SQLite ledger under `edge/`, each origin's outbox).
   */
  dataDir: string;
  /** The edge's forwarding key (`kid:secret`), for tests that sign as the edge. */
  originSecret: string;
  /** The stack origin's node key (`kid:secret`), for tests that sign heartbeats and usage as its node. */
  nodeKey: string;
  /** The edge's key pepper and admin token (generated under the data dir unless the env set them). */
  keyPepper: string;
  adminToken: string;
  dispose(): Promise<void>;
}

export interface TestStackOptions {
  edge?: 'node' | 'worker';
  originEnv?: NodeJS.ProcessEnv;
  edgeEnv?: NodeJS.ProcessEnv;
  /** Embedded S3 port (a test may put a proxy in front of it). */
  s3Port?: number;
}

export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'motif-e2e-'));
  const logs: string[] = [];
  const cfg = loadStackConfig(
    {},
    {
      MOTIF_DATA_DIR: dataDir,
      MOTIF_EDGE_PORT: await freePort(),
      MOTIF_ORIGIN_PORT: await freePort(),
      MOTIF_S3_PORT: opts.s3Port ?? (await freePort()),
      MOTIF_EDGE: opts.edge ?? 'node',
    },
  );
  const log = (line: string) => {
    logs.push(line);
    if (process.env.MOTIF_TEST_VERBOSE) console.log(line);
  };
  let stack: Stack;
  try {
    stack = await startStack(cfg, { log, originEnv: opts.originEnv, edgeEnv: opts.edgeEnv, readyTimeoutMs: 150_000 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- stack logs ---\n${logs.slice(-60).join('\n')}`);
  }
  return Object.assign(stack, {
    logs,
    dataDir,
    originSecret: cfg.originSecret,
    nodeKey: cfg.nodeKey,
    keyPepper: opts.edgeEnv?.MOTIF_KEY_PEPPER ?? cfg.keyPepper,
    adminToken: opts.edgeEnv?.MOTIF_ADMIN_TOKEN ?? cfg.adminToken,
    async dispose() {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** `npm start` as a newcomer runs it, or `scripts/start.ts` under the tsx CLI or plain node. */
export type StartVia = 'npm' | 'tsx' | 'node';

export interface StartRun {
  /** The process we spawned: npm, the tsx CLI, or scripts/start.ts itself (`node`). */
  child: ChildProcess;
  ports: { edge: number; origin: number; s3: number };
  /** stdout and stderr so far, interleaved by arrival. */
  output(): string;
  stderr(): string;
  /** Resolves once a line matching `re` was printed; rejects on exit or timeout, with the output. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signal the whole process group, as a terminal's Ctrl-C, `timeout` or a supervisor does. */
  signalGroup(sig: NodeJS.Signals): void;
}

/**
 * Launch the stack's start script in its own process group on free ports and `dataDir`. Every
 * process of the run inherits MOTIF_DATA_DIR=<dataDir>, which is how `leftovers` finds them.
 */
export async function launchStart(opts: {
  via: StartVia;
  dataDir: string;
  args?: string[];
  /** With `via: 'npm'`: the package script (default `start`; `start:worker` passes --edge=worker itself). */
  npmScript?: string;
  env?: NodeJS.ProcessEnv;
  ports?: Partial<StartRun['ports']>;
}): Promise<StartRun> {
  const ports = {
    edge: opts.ports?.edge ?? (await freePort()),
    origin: opts.ports?.origin ?? (await freePort()),
    s3: opts.ports?.s3 ?? (await freePort()),
  };
  const args = opts.args ?? [];
  const [command, argv] =
    opts.via === 'npm'
      ? ['npm', ['run', opts.npmScript ?? 'start', ...(args.length ? ['--', ...args] : [])]]
      : opts.via === 'tsx'
        ? [process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start.ts', ...args]]
        : [process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args]];
  const child = spawn(command, argv, {
    cwd: REPO_ROOT,
    detached: true, // its own process group, like a shell job
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MOTIF_EDGE_PORT: String(ports.edge),
      MOTIF_ORIGIN_PORT: String(ports.origin),
      MOTIF_S3_PORT: String(ports.s3),
      MOTIF_DATA_DIR: opts.dataDir,
      ...opts.env,
    },
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    for (const w of waiters) w();
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    err += s;
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const w of waiters) w();
  });
  return {
    child,
    ports,
    output: () => out,
    stderr: () => err,
    exited,
    signalGroup(sig) {
      process.kill(-child.pid!, sig);
    },
    waitFor(re, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`timed out waiting for ${re}`)), timeoutMs);
        const check = () => {
          if (out.split('\n').some((l) => re.test(l))) done();
          else if (gone) done(new Error(`exited before printing ${re}`));
        };
        const done = (e?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (e) reject(new Error(`${e.message}\n--- output ---\n${out.slice(-4000)}`));
          else resolve();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Processes of a run still alive: any process whose environment carries MOTIF_DATA_DIR=<dataDir>. */
export function leftovers(dataDir: string): { pid: number; cmd: string }[] {
  const marker = Buffer.from(`\0MOTIF_DATA_DIR=${dataDir}\0`);
  const found: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${name}/environ`)]);
      if (env.includes(marker)) found.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Ports of `ports` that accept a TCP connection on 127.0.0.1. */
export async function listening(ports: number[]): Promise<number[]> {
  const open = await Promise.all(
    ports.map(
      (port) =>
        new Promise<boolean>((resolve) => {
          const s = connect({ port, host: '127.0.0.1' });
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
        }),
    ),
  );
  return ports.filter((_, i) => open[i]);
}

/** Wait (up to `timeoutMs`) until the run has no process and no listening port left; returns what remains. */
export async function waitUntilGone(dataDir: string, ports: number[], timeoutMs = 10_000): Promise<{ processes: string[]; ports: number[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = { processes: leftovers(dataDir).map((p) => `${p.pid} ${p.cmd}`), ports: await listening(ports) };
    if ((left.processes.length === 0 && left.ports.length === 0) || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGKILL every process `leftovers` finds: a failed test must not leave a stack running. */
export function killLeftovers(dataDir: string): void {
  for (const { pid } of leftovers(dataDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
