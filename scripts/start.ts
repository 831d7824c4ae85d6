/**
 * `npm start` — the whole motif-edge stack on embedded defaults, in one terminal.
 * `npm run start:worker` (or `--edge=worker`) runs the edge as a Worker in workerd instead.
 *
 * Ctrl-C (or SIGTERM/SIGHUP, e.g. from `timeout` or a supervisor) stops everything, at any point
 * of start-up too: children run in their own process groups (so their grandchildren can be
 * stopped with them), which also means a signal to our group never reaches them — this process
 * forwards it, to every child known so far. A second Ctrl-C kills them at once. If this process
 * is killed outright, the children notice their stdin pipe closing and stop themselves.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { banner, servedModel } from './stack/banner.ts';
import { loadStackConfig, type StackEnv } from './stack/config.ts';
import { ProcessSet } from './stack/processes.ts';
import { PortsInUseError, type Stack, startStack } from './stack/stack.ts';

/** SIGTERM → SIGKILL grace per child group: long enough for the origin to drain and flush usage. */
const STOP_GRACE_MS = 8000;
/**
 * A repeat of the signal within this window is the same stop, not a second Ctrl-C: tsx (which
 * `npm start` runs us under) re-sends a signal it thinks we missed when our event loop was busy.
 */
const SAME_SIGNAL_MS = 500;

function parseArgs(argv: string[]): Partial<StackEnv> {
  const out: Partial<StackEnv> = {};
  for (const a of argv) {
    const m = /^--edge=(node|worker)$/.exec(a);
    if (m) out.MOTIF_EDGE = m[1] as 'node' | 'worker';
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm start [-- --edge=node|worker]   (configuration by MOTIF_* env vars, see README)');
      process.exit(0);
    } else {
      console.error(`unknown argument: ${a}`);
      process.exit(2);
    }
  }
  return out;
}

async function main(): Promise<void> {
  // The pinned AWS SDK warns that its *future* releases need Node 22; we pin it, so say it once in the README instead.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let cfg;
  try {
    cfg = loadStackConfig(process.env, parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }

  const processes = new ProcessSet();
  const startup = new AbortController();
  // Last resort: however this process exits (an uncaught error included), its children go too.
  process.on('exit', () => processes.killAll());

  let starting: Promise<Stack> | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = (code: number): Promise<void> =>
    (stopping ??= (async () => {
      startup.abort(new Error('stopped'));
      await processes.stopAll(STOP_GRACE_MS);
      // Then the in-process S3 (and its marker): an aborted start-up closes it itself; a step
      // that cannot be aborted (a large publish) is not waited for — exiting ends it.
      await Promise.race([
        starting?.then(
          (s) => s.stop(),
          () => {},
        ),
        sleep(2000),
      ]);
      process.exit(code);
    })());

  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!stopping) {
      firstSignalAt = Date.now();
      console.log(sig === 'SIGINT' ? '\nstopping… (Ctrl-C again to kill at once)' : `\n${sig}: stopping…`);
      void shutdown(0);
      return;
    }
    if (Date.now() - firstSignalAt < SAME_SIGNAL_MS) return;
    console.log('killing the stack');
    processes.killAll();
    process.exit(130);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);

  let stack: Stack;
  try {
    starting = startStack(cfg, { log: (line) => console.log(line), processes, signal: startup.signal, readyTimeoutMs: 120_000 });
    stack = await starting;
  } catch (err) {
    if (stopping) return; // a signal aborted start-up; shutdown() exits
    if (err instanceof PortsInUseError) {
      for (const line of err.lines) console.error(line);
      process.exit(2);
    }
    console.error(`failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
  const served = await servedModel(stack, cfg);
  if (stopping) return;
  console.log(banner(stack, cfg, { ...served, engine: process.env.MOTIF_ENGINE || 'native' }));
  // A child that dies on its own takes the stack down loudly rather than leaving half of it up.
  for (const proc of [stack.edge, stack.origin]) {
    void proc.exited.then((code) => {
      if (stopping) return;
      console.error(`${proc.name} exited unexpectedly (${code}); stopping the stack`);
      void shutdown(1);
    });
  }
}

void main();
