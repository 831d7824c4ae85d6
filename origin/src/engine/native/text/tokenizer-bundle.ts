/**
 * Assembling a model's tokenizer and chat template from the files of an HF model directory:
 * `tokenizer.json` + `tokenizer_config.json`, and `chat_template.jinja`, which newer checkpoints
 * ship instead of a `chat_template` key. Runtime-free: the files come through `TokenizerFiles`
 * (the Node adapter reads a directory; a Worker could feed them from KV).
 */
import { ApiError } from '#shared/errors.ts';
import { ChatTemplate } from './chat-template.ts';
import { MotifTokenizer } from './tokenizer.ts';

/** Tokenizer and chat template of a model directory. */
export interface TokenizerBundle {
  tokenizer: MotifTokenizer;
  /** Chat template renderer; `undefined` when the model has none (chat requests then fail with 400). */
  chatTemplate: ChatTemplate | undefined;
}

/** The port to a model directory's small text files. */
export interface TokenizerFiles {
  /** Text of the file `name`, or undefined when it does not exist. */
  read(name: string): Promise<string | undefined>;
  /** How error messages name the file (e.g. its path). */
  describe(name: string): string;
}

/** Build the bundle from `files`; a missing or malformed required file fails with `engine_unavailable`. */
export async function loadTokenizerBundle(files: TokenizerFiles): Promise<TokenizerBundle> {
  const tokenizerJson = await readJson(files, 'tokenizer.json');
  const tokenizerConfig = (await readJson(files, 'tokenizer_config.json', true)) ?? {};
  const tokenizer = new MotifTokenizer({ tokenizerJson, tokenizerConfig });
  let source = ChatTemplate.pick(tokenizer.config.chat_template);
  if (source === undefined) source = await files.read('chat_template.jinja');
  const chatTemplate = source === undefined ? undefined : new ChatTemplate(source, tokenizer.config);
  return { tokenizer, chatTemplate };
}

async function readJson(files: TokenizerFiles, name: string, optional = false): Promise<unknown> {
  const text = await files.read(name);
  if (text === undefined) {
    if (optional) return undefined;
    throw new ApiError('engine_unavailable', `Missing ${files.describe(name)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError('engine_unavailable', `Invalid JSON in ${files.describe(name)}: ${(err as Error).message}`, { cause: err });
  }
}
