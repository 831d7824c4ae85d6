/**
 * Node adapter: reads a Hugging Face model directory's tokenizer files. Kept apart from
 * tokenizer.ts and chat-template.ts so those stay runtime-free (a Worker could feed them from KV).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '#shared/errors.ts';
import { MotifTokenizer } from '../../../engine/native/text/tokenizer.ts';
import { ChatTemplate } from '../../../engine/native/text/chat-template.ts';

/** Tokenizer and chat template of a model directory. */
export interface TokenizerBundle {
  tokenizer: MotifTokenizer;
  /** Chat template renderer; `undefined` when the model has none (chat requests then fail with 400). */
  chatTemplate: ChatTemplate | undefined;
}

/**
 * Load `tokenizer.json` + `tokenizer_config.json` (and `chat_template.jinja`, which newer
 * checkpoints ship instead of a `chat_template` key) from `dir`.
 */
export async function loadTokenizerDir(dir: string): Promise<TokenizerBundle> {
  const tokenizerJson = await readJson(join(dir, 'tokenizer.json'));
  const tokenizerConfig = (await readJson(join(dir, 'tokenizer_config.json'), true)) ?? {};
  const tokenizer = new MotifTokenizer({ tokenizerJson, tokenizerConfig });
  let source = ChatTemplate.pick(tokenizer.config.chat_template);
  if (source === undefined) source = await readText(join(dir, 'chat_template.jinja'));
  const chatTemplate = source === undefined ? undefined : new ChatTemplate(source, tokenizer.config);
  return { tokenizer, chatTemplate };
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ApiError('engine_unavailable', `Cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function readJson(path: string, optional = false): Promise<unknown> {
  const text = await readText(path);
  if (text === undefined) {
    if (optional) return undefined;
    throw new ApiError('engine_unavailable', `Missing ${path}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError('engine_unavailable', `Invalid JSON in ${path}: ${(err as Error).message}`, { cause: err });
  }
}
