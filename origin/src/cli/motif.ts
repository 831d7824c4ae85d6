/**
 * Conformance CLI for the native Motif implementation. Exactly one JSON line on stdout:
 *   motif logits   --model <dir> (--ids 1,2,3 | --prompt "text")               → {"logits":[...]}
 *   motif generate --model <dir> (--ids … | --prompt …) [--max-tokens N] [--ignore-eos] → {"ids":[...]}
 * `logits` are the last position's; `generate` is greedy and prints the new ids only, ending at
 * (and including) the first eos id unless --ignore-eos. `--help` (-h, `help`) prints the usage on
 * stdout instead. Errors go to stderr with exit code 2 (command-line mistakes with the usage).
 * MOTIF_KERNELS=auto|js|native picks the matmul kernel (default auto: the native addon when built);
 * the line naming it goes to stderr.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import { selectNodeKernel } from '../engine/native/kernels/node-kernels.ts';
import { MotifModel } from '../engine/native/model.ts';
import { argmax } from '../engine/native/sampler.ts';
import { loadTokenizerDir } from '../engine/native/tokenizer-files.ts';

const USAGE = `usage: npm run -s motif -- <logits|generate> --model <dir> (--ids 1,2,3 | --prompt "text") [--max-tokens N] [--ignore-eos]
  logits      print the last position's logits: {"logits":[...]}
  generate    greedy continuation, new ids only, up to and including the first eos id: {"ids":[...]}
  --model <dir>      an HF-style Motif model dir (config.json, safetensors, tokenizer)
  --ids 1,2,3        prompt token ids; or --prompt "text", tokenized like a completions prompt
  --max-tokens N     generate at most N tokens (default 16)
  --ignore-eos       keep generating past eos
MOTIF_KERNELS=auto|js|native picks the matmul kernels (default auto: the native addon when built).`;

/** A mistake in the command line: one line, then the usage (exit 2). */
class UsageError extends Error {}

const IdList = z
  .string()
  .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'expected comma-separated token ids, e.g. 1,2,3')
  .transform((s) => s.split(',').map((x) => Number(x.trim())));

const Args = z
  .strictObject({
    command: z.enum(['logits', 'generate']),
    model: z.string().min(1, '--model <dir> is required'),
    ids: IdList.optional(),
    prompt: z.string().optional(),
    maxTokens: z.coerce.number().int().min(1).default(16),
    ignoreEos: z.boolean().default(false),
  })
  .refine((a) => (a.ids === undefined) !== (a.prompt === undefined), { message: 'give exactly one of --ids or --prompt', path: ['ids'] });
type Args = z.infer<typeof Args>;

/** The checked arguments, or 'help' for --help, -h or `help`. Throws UsageError. */
function parseCli(argv: string[]): Args | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        model: { type: 'string' },
        ids: { type: 'string' },
        prompt: { type: 'string' },
        'max-tokens': { type: 'string' },
        'ignore-eos': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // node's own message goes on about `--` escapes; name the option and stop.
    const msg = (err as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    throw new UsageError(unknown ? `unknown option ${unknown[1]}` : msg.split('. ')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help' || argv.length === 0) return 'help';
  if (positionals.length === 0) throw new UsageError('give a command: logits or generate');
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const r = Args.safeParse({
    command: positionals[0],
    model: values.model ?? '',
    ids: values.ids,
    prompt: values.prompt,
    maxTokens: values['max-tokens'],
    ignoreEos: values['ignore-eos'],
  });
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new UsageError(`${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return r.data;
}

/** Prompt ids from --ids, or --prompt tokenized like a completions prompt (special tokens map to ids). */
async function promptIds(a: Args, vocabSize: number): Promise<number[]> {
  const ids = a.ids ?? (await loadTokenizerDir(a.model)).tokenizer.encode(a.prompt!, { addSpecialTokens: true });
  if (ids.length === 0) throw new ApiError('invalid_request_error', 'The prompt is empty.');
  const bad = ids.find((id) => id >= vocabSize);
  if (bad !== undefined) throw new ApiError('invalid_request_error', `Token id ${bad} is outside the vocabulary [0, ${vocabSize}).`);
  return ids;
}

/** Greedy continuation: prefill, then one token per step through the KV cache. */
async function greedy(model: MotifModel, prompt: number[], maxTokens: number, ignoreEos: boolean): Promise<number[]> {
  const context = model.config.max_position_embeddings;
  if (prompt.length >= context) throw new ApiError('context_length_exceeded', `The prompt has ${prompt.length} tokens; the context holds ${context}.`);
  const steps = Math.min(maxTokens, context - prompt.length);
  const cache = model.createCache(prompt.length + steps);
  const eos = new Set(model.eosTokenIds);
  const out: number[] = [];
  let feed = prompt;
  while (out.length < steps) {
    const [logits] = await model.forward([{ cache, ids: feed }]);
    const id = argmax(logits!);
    out.push(id);
    if (!ignoreEos && eos.has(id)) break;
    feed = [id];
  }
  return out;
}

async function main(argv: string[]): Promise<string> {
  const a = parseCli(argv);
  if (a === 'help') return USAGE;
  const { kernel } = selectNodeKernel({ mode: process.env.MOTIF_KERNELS || 'auto', log: (line) => process.stderr.write(`${line}\n`) });
  const model = await MotifModel.load(a.model, { kernel, reuseLogits: true });
  const ids = await promptIds(a, model.config.vocab_size);
  if (a.command === 'logits') {
    if (ids.length > model.config.max_position_embeddings) {
      throw new ApiError('context_length_exceeded', `The prompt has ${ids.length} tokens; the context holds ${model.config.max_position_embeddings}.`);
    }
    const [logits] = await model.forward([{ cache: model.createCache(ids.length), ids }]);
    return JSON.stringify({ logits: Array.from(logits!) });
  }
  return JSON.stringify({ ids: await greedy(model, ids, a.maxTokens, a.ignoreEos) });
}

main(process.argv.slice(2)).then(
  (line) => process.stdout.write(`${line}\n`),
  (err: unknown) => {
    const usage = err instanceof UsageError ? `\n${USAGE}` : '';
    process.stderr.write(`motif: ${err instanceof Error ? err.message : String(err)}${usage}\n`);
    process.exitCode = 2;
  },
);
