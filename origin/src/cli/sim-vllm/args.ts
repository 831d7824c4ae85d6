/**
 * Arguments of `npm run sim:vllm`, named as `vllm serve` names them where they overlap
 * (`--port`, `--host`, `--max-num-seqs`, `--max-model-len`), plus `--sim` (the simulator's
 * tuning, the same JSON object as the origin's MOTIF_SIM). Given as `serve <model dir> …`, it
 * takes a `vllm serve` command line: `--served-model-name` names the model, and vLLM flags it has
 * no use for (`--dtype bfloat16`, `--trust-remote-code`…) are accepted and ignored, so the
 * simulator can stand in for the `vllm` executable. Pure: argv in, options or an error out.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseSimTuningJson, type SimEngineOptions } from '../../engine/sim/options.ts';

export const USAGE = `usage: npm run sim:vllm -- [--port 8000] [--host 127.0.0.1] [--model motif-2.6b] [--max-num-seqs 256]
                       [--max-model-len 4096] [--sim '{"speed":10,"errorRate":0.1}']
       npm run sim:vllm -- serve <model dir> --served-model-name motif-2.6b [--port …] [other vllm serve flags, ignored]
An OpenAI-compatible load-test simulator with vLLM's /metrics names (not a model).`;

export class ArgsError extends Error {}

export interface SimServerArgs {
  host: string;
  port: number;
  engine: SimEngineOptions;
  /** `vllm serve` flags accepted and ignored (in `serve` mode). */
  ignored: string[];
}

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  model: { type: 'string' },
  'max-num-seqs': { type: 'string' },
  'max-model-len': { type: 'string' },
  sim: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * A `vllm serve <dir> …` command line → the simulator's own arguments and the flags it ignores.
 * A flag this does not know takes the next word as its value unless that is a flag itself.
 */
function fromServeArgv(argv: string[]): { args: string[]; ignored: string[] } {
  const args: string[] = [];
  const ignored: string[] = [];
  const rest = argv.slice(2); // `serve` and the model dir
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    const [flag, inline] = word.split(/=(.*)/s, 2) as [string, string | undefined];
    const name = flag === '--served-model-name' ? 'model' : flag.replace(/^--/, '');
    const takesValue = inline === undefined && i + 1 < rest.length && !rest[i + 1]!.startsWith('--');
    if (flag.startsWith('--') && name in OPTIONS && name !== 'help') {
      args.push(`--${name}`, inline ?? rest[++i] ?? '');
    } else {
      ignored.push(takesValue ? `${word} ${rest[++i]}` : word);
    }
  }
  return { args, ignored };
}

const Values = z.strictObject({
  port: z.coerce.number().int().min(0).max(65535).default(8000),
  host: z.string().min(1).default('127.0.0.1'),
  model: z.string().min(1).default('motif-2.6b'),
  'max-num-seqs': z.coerce.number().int().min(1).max(4096).default(256),
  'max-model-len': z.coerce.number().int().min(32).optional(),
  sim: z.string().optional(),
});

/** Parse argv (without node and script); 'help' for --help. Throws ArgsError naming the problem. */
export function parseSimServerArgs(argv: string[]): SimServerArgs | 'help' {
  let values: Record<string, string | boolean | undefined>;
  let ignored: string[] = [];
  if (argv[0] === 'serve') {
    if (argv.length < 2 || argv[1]!.startsWith('--')) throw new ArgsError('serve: the model dir is missing');
    ({ args: argv, ignored } = fromServeArgv(argv));
  }
  try {
    values = parseArgs({ args: argv, strict: true, options: OPTIONS }).values;
  } catch (err) {
    throw new ArgsError((err as Error).message.split('. ')[0]!);
  }
  if (values.help) return 'help';
  const { help: _, ...rest } = values;
  const r = Values.safeParse(rest);
  if (!r.success) throw new ArgsError(r.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  const v = r.data;
  let tuning;
  try {
    tuning = v.sim === undefined ? {} : parseSimTuningJson(v.sim);
  } catch (err) {
    throw new ArgsError(`--sim: ${(err as Error).message}`);
  }
  const maxContext = v['max-model-len'] ?? tuning.maxContextTokens;
  return {
    host: v.host,
    port: v.port,
    ignored,
    engine: {
      modelId: v.model,
      maxRunning: v['max-num-seqs'],
      // vLLM queues without a bound; so does the stand-in, within reason.
      maxQueue: 100_000,
      ...tuning,
      ...(maxContext !== undefined ? { maxContextTokens: maxContext, kvBudgetTokens: Math.max(131_072, Math.ceil(maxContext / 16) * 16) } : {}),
    },
  };
}
