/**
 * llama.cpp beside our engine in one run (`bench:engine -- --peer`): node-llama-cpp (its prebuilt
 * CPU build, pinned) is installed on demand into `.data/peer/`, never a dependency of the project;
 * a child process holds the llama.cpp model (llama-runner.mjs) and answers timed workloads, so
 * both engines stay loaded and the rounds can alternate between them.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const NODE_LLAMA_CPP_VERSION = '3.22.1';

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'llama-runner.mjs');

/** Install node-llama-cpp into `dir` unless the pinned version is there; copy the runner beside it. */
export function ensurePeerInstalled(dir: string, log: (line: string) => void): void {
  mkdirSync(dir, { recursive: true });
  const pkg = join(dir, 'node_modules', 'node-llama-cpp', 'package.json');
  const installed = existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version === NODE_LLAMA_CPP_VERSION;
  if (!installed) {
    log(`installing node-llama-cpp@${NODE_LLAMA_CPP_VERSION} into ${dir} (once; about 700 MB with its prebuilt binaries)`);
    if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"name":"motif-bench-peer","private":true,"type":"module"}\n');
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`], {
      cwd: dir,
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error(`npm install of node-llama-cpp failed (exit ${r.status}): --peer needs the npm registry once`);
  }
  copyFileSync(RUNNER, join(dir, 'llama-runner.mjs'));
}

export interface PeerTiming {
  ms: number;
  tokens?: number;
}

export interface Peer {
  /** llama.cpp's release and build kind, as node-llama-cpp reports them. */
  readonly about: string;
  prefill(tokens: readonly number[]): Promise<PeerTiming>;
  decode(batch: number, prompt: readonly number[], steps: number): Promise<PeerTiming>;
  close(): Promise<void>;
}

export interface PeerOptions {
  dir: string;
  gguf: string;
  threads: number;
  maxBatch: number;
  /** Tokens per sequence the context must hold. */
  context: number;
}

/** Start the runner and wait until the model is loaded. */
export async function startPeer(o: PeerOptions): Promise<Peer> {
  const child: ChildProcess = spawn(process.execPath, ['llama-runner.mjs', o.gguf, String(o.threads), String(o.maxBatch), String(o.context)], {
    cwd: o.dir,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await lines.next();
    if (r.done) throw new Error(`the llama.cpp runner exited (${child.exitCode ?? child.signalCode})`);
    const o = JSON.parse(r.value) as Record<string, unknown>;
    if (typeof o.error === 'string') throw new Error(`llama.cpp runner: ${o.error}`);
    return o;
  };
  const hello = await next();
  const ask = async (cmd: Record<string, unknown>): Promise<PeerTiming> => {
    child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    return (await next()) as unknown as PeerTiming;
  };
  return {
    about: `llama.cpp ${String(hello.version)} (${String(hello.build)} CPU build of node-llama-cpp ${NODE_LLAMA_CPP_VERSION}; ${String(hello.features)})`,
    prefill: (tokens) => ask({ op: 'prefill', tokens }),
    decode: (batch, prompt, steps) => ask({ op: 'decode', batch, prompt, steps }),
    close: async () => {
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}
