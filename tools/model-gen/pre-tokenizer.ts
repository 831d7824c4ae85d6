/**
 * The o200k-style pre-tokenizer: text is split into pieces (words with their leading space or
 * punctuation, runs of up to 3 digits, punctuation runs, newline and space runs) before BPE, and
 * merges never cross piece boundaries. `O200K_SPLIT_PATTERN` is the Oniguruma pattern written into
 * tokenizer.json; `preTokenize` is the same split in a JavaScript RegExp, used by the trainer.
 */

/** The Split pattern as tokenizer.json carries it (Oniguruma syntax, for HF tokenizers). */
export const O200K_SPLIT_PATTERN = [
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
  '\\p{N}{1,3}',
  ' ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*',
  '\\s*[\\r\\n]+',
  '\\s+(?!\\S)',
  '\\s+',
].join('|');

// Node 20's RegExp has no inline `(?i:…)` groups, so the contractions spell both cases out.
const CONTRACTION = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?";
const UPPERISH = '[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]';
const LOWERISH = '[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]';
const JS_SPLIT_SOURCE = [
  `[^\\r\\n\\p{L}\\p{N}]?${UPPERISH}*${LOWERISH}+${CONTRACTION}`,
  `[^\\r\\n\\p{L}\\p{N}]?${UPPERISH}+${LOWERISH}*${CONTRACTION}`,
  '\\p{N}{1,3}',
  ' ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*',
  '\\s*[\\r\\n]+',
  '\\s+(?!\\S)',
  '\\s+',
].join('|');

/**
 * Split `text` into pre-tokens. Matches and the (rare) unmatched gaps between them are both kept
 * ("Isolated" behaviour), so the pieces always concatenate back to `text`.
 */
export function preTokenize(text: string): string[] {
  const re = new RegExp(JS_SPLIT_SOURCE, 'gu');
  const pieces: string[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) pieces.push(text.slice(last, m.index));
    if (m[0].length > 0) pieces.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) pieces.push(text.slice(last));
  return pieces;
}
