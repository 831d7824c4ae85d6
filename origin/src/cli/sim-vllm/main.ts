/**
 * `npm run sim:vllm`: the load-test simulator as a standalone OpenAI-compatible server with vLLM's
 * metric names (a stand-in `vllm serve` for tests). The Node composition root of app.ts: argv →
 * SimEngine → Node HTTP; SIGINT/SIGTERM drain running requests (bounded) and exit.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listenHttp } from '../../adapters/node/http-server.ts';
import { SimEngine } from '../../engine/sim/sim-engine.ts';
import { createSimServerApp } from './app.ts';
import { ArgsError, parseSimServerArgs, USAGE } from './args.ts';

async function main(argv: string[]): Promise<void> {
  let args: ReturnType<typeof parseSimServerArgs>;
  try {
    args = parseSimServerArgs(argv);
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err;
    console.error(`sim:vllm: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (args === 'help') {
    console.log(USAGE);
    return;
  }
  let engine: SimEngine;
  try {
    engine = new SimEngine(args.engine);
  } catch (err) {
    console.error(`sim:vllm: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (args.ignored.length > 0) console.log(`sim:vllm: ignoring vllm serve flags: ${args.ignored.join(' ')}`);
  await engine.load();
  const app = createSimServerApp({ engine, clock: { now: () => Date.now() } });
  const server = await listenHttp(app.fetch, args.host, args.port);
  const o = engine.options;
  console.log(
    `sim:vllm: listening on http://${args.host}:${server.port} as ${o.modelId}: the load-test simulator, not the model ` +
      `(max-num-seqs ${o.maxRunning}, max-model-len ${o.maxContextTokens}, speed ${o.speed})`,
  );
  const stop = (sig: string) => {
    console.log(`sim:vllm: ${sig} received, draining`);
    const timer = setTimeout(() => process.exit(0), 5_000);
    void engine
      .drain()
      .then(() => server.close(1_000))
      .then(() => engine.close())
      .finally(() => {
        clearTimeout(timer);
        process.exit(0);
      });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) void main(process.argv.slice(2));
