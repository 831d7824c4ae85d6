/**
 * Conformance CLI for the native Motif implementation. Exactly one JSON line on stdout:
 *   motif logits   --model <dir> (--ids 1,2,3 | --prompt "text" | --chat '[…]')  → {"logits":[...]}
 *   motif generate --model <dir> (--ids … | --prompt … | --chat …) [--max-tokens N] [--ignore-eos] → {"ids":[...]}
 *   motif tokenize --model <dir> (--prompt … | --chat …)                          → {"text":"…","ids":[...]}
 * `--chat` takes OpenAI-style messages as JSON and renders them with the model's chat template
 * exactly as the server does, so ids and rendered text can be compared with another
 * implementation's tokenizer and chat template (README: parity with the reference).
 * `logits` are the last position's; `generate` is greedy and prints the new ids only, ending at
 * (and including) the first eos id unless --ignore-eos. `--help` (-h, `help`) prints the usage on
 * stdout instead. Errors go to stderr with exit code 2 (command-line mistakes with the usage).
 * MOTIF_KERNELS=auto|js|native picks the matmul kernel (default auto: the native addon when built);
 * the line naming it goes to stderr. MOTIF_WEIGHTS_QUANT=q8 runs the model with Q8_0 linear layers
 * and head, as the origin would (default none).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import { loadMotifModelDir } from '../adapters/node/engine/engine-loaders.ts';
import { selectNodeKernel } from '../adapters/node/engine/node-kernels.ts';
import { loadTokenizerDir } from '../adapters/node/engine/tokenizer-files.ts';
import { WeightsQuant } from '../engine/native/checkpoint/quantize-weights.ts';
import type { MotifModel } from '../engine/native/model.ts';
import { argmax } from '../engine/native/sampling/sampler.ts';

const USAGE = `usage: npm run -s motif -- <logits|generate|tokenize> --model <dir> (--ids 1,2,3 | --prompt "text" | --chat '<messages JSON>') [--max-tokens N] [--ignore-eos]
  logits      print the last position's logits: {"logits":[...]}
  generate    greedy continuation, new ids only, up to and including the first eos id: {"ids":[...]}
  tokenize    the prompt as the server would feed it, without running the model: {"text":"...","ids":[...]}
  --model <dir>      an HF-style Motif model dir (config.json, safetensors, tokenizer)
  --ids 1,2,3        prompt token ids; or --prompt "text", tokenized like a completions prompt;
                     or --chat '[{"role":"user","content":"Hi"}]', rendered with the chat template like a chat request
  --max-tokens N     generate at most N tokens (default 16)
  --ignore-eos       keep generating past eos
MOTIF_KERNELS=auto|js|native picks the matmul kernels (default auto: the native addon when built).
MOTIF_WEIGHTS_QUANT=none|q8 quantises the linear layers and head to 8 bits at load (default none).`;

/** A mistake in the command line: one line, then the usage (exit 2). */
class UsageError extends Error {}

const IdList = z
  .string()
  .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'expected comma-separated token ids, e.g. 1,2,3')
  .transform((s) => s.split(',').map((x) => Number(x.trim())));

const ChatJson = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON array of messages, e.g. [{"role":"user","content":"Hi"}]' });
      return z.NEVER;
    }
  })
  .pipe(z.array(z.strictObject({ role: z.string().min(1), content: z.string() })).min(1));

const Args = z
  .strictObject({
    command: z.enum(['logits', 'generate', 'tokenize']),
    model: z.string().min(1, '--model <dir> is required'),
    ids: IdList.optional(),
    prompt: z.string().optional(),
    chat: ChatJson.optional(),
    maxTokens: z.coerce.number().int().min(1).default(16),
    ignoreEos: z.boolean().default(false),
  })
  .refine((a) => [a.ids, a.prompt, a.chat].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of --ids, --prompt or --chat',
    path: ['ids'],
  })
  .refine((a) => a.command !== 'tokenize' || a.ids === undefined, { message: 'tokenize takes --prompt or --chat', path: ['ids'] });
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
        chat: { type: 'string' },
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
  if (positionals.length === 0) throw new UsageError('give a command: logits, generate or tokenize');
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const r = Args.safeParse({
    command: positionals[0],
    model: values.model ?? '',
    ids: values.ids,
    prompt: values.prompt,
    chat: values.chat,
    maxTokens: values['max-tokens'],
    ignoreEos: values['ignore-eos'],
  });
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new UsageError(`${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return r.data;
}

/**
 * The prompt as the server feeds it: --prompt tokenized like a completions prompt (the
 * post-processor adds its special tokens), --chat rendered by the chat template (which places
 * every special token itself) like a chat request.
 */
async function renderPrompt(a: Args): Promise<{ text: string; ids: number[] }> {
  const { tokenizer, chatTemplate } = await loadTokenizerDir(a.model);
  if (a.chat === undefined) return { text: a.prompt!, ids: tokenizer.encode(a.prompt!, { addSpecialTokens: true }) };
  if (!chatTemplate) throw new ApiError('invalid_request_error', `${a.model} has no chat template (tokenizer_config.json chat_template).`);
  const text = chatTemplate.render(a.chat, { addGenerationPrompt: true });
  return { text, ids: tokenizer.encode(text, { addSpecialTokens: false }) };
}

/** Prompt ids from --ids, --prompt or --chat. */
async function promptIds(a: Args, vocabSize: number): Promise<number[]> {
  const ids = a.ids ?? (await renderPrompt(a)).ids;
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
  if (a.command === 'tokenize') return JSON.stringify(await renderPrompt(a));
  const quant = WeightsQuant.safeParse(process.env.MOTIF_WEIGHTS_QUANT || 'none');
  if (!quant.success) throw new Error(`MOTIF_WEIGHTS_QUANT must be one of ${WeightsQuant.options.join(', ')}, got '${process.env.MOTIF_WEIGHTS_QUANT}'`);
  const { kernel } = selectNodeKernel({ mode: process.env.MOTIF_KERNELS || 'auto', log: (line) => process.stderr.write(`${line}\n`) });
  const model = await loadMotifModelDir(a.model, { kernel, reuseLogits: true, weightsQuant: quant.data });
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
