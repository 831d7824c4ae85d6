/**
 * Node adapter of `TokenizerFiles`: reads a Hugging Face model directory's tokenizer files from
 * the local file system. The assembling itself is runtime-free (engine text/tokenizer-bundle.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '#shared/errors.ts';
import { loadTokenizerBundle, type TokenizerBundle, type TokenizerFiles } from '../../../engine/native/text/tokenizer-bundle.ts';

export type { TokenizerBundle } from '../../../engine/native/text/tokenizer-bundle.ts';

/** Tokenizer and chat template of the model directory `dir`. */
export function loadTokenizerDir(dir: string): Promise<TokenizerBundle> {
  return loadTokenizerBundle(dirFiles(dir));
}

/** The files of `dir`, named by their paths in error messages. */
export function dirFiles(dir: string): TokenizerFiles {
  return {
    describe: (name) => join(dir, name),
    async read(name) {
      const path = join(dir, name);
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new ApiError('engine_unavailable', `Cannot read ${path}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
