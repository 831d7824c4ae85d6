/**
 * `npm start` — the whole motif-edge stack on embedded defaults, in one terminal.
 * `npm run start:worker` (or `--edge=worker`) runs the edge as a Worker in workerd instead.
 * Ctrl-C stops everything.
 */
import { loadStackConfig, type StackEnv } from './stack/config.ts';
import { startStack, type Stack } from './stack/stack.ts';
import { banner } from './stack/banner.ts';

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
  const log = (line: string) => console.log(line);
  let stack: Stack | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    await stack?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    stack = await startStack(cfg, { log });
  } catch (err) {
    console.error(`failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
  console.log(banner(stack, cfg.MOTIF_EDGE));
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
