/**
 * The embedded tokenizer training corpus: English prose, Korean sentences, TypeScript and Python
 * code, numbers and punctuation — all original text written for this project, so generated models
 * need no downloads. Changing any of it changes every generated tokenizer and model.
 */
import { CODE } from './code.ts';
import { ENGLISH } from './english.ts';
import { KOREAN } from './korean.ts';
import { MISC } from './misc.ts';

/** The training documents, in a fixed order. */
export function trainingCorpus(): string[] {
  return [ENGLISH, KOREAN, CODE, MISC];
}
