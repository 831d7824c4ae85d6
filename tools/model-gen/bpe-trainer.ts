/**
 * A byte-level BPE trainer. Text is pre-tokenized (o200k split), each piece becomes a sequence of
 * byte tokens, and the most frequent adjacent pair is merged repeatedly until the vocabulary
 * reaches its target size. Deterministic: ties on frequency go to the pair whose (left, right)
 * token strings sort first, so the result depends only on the corpus and the target.
 */
import { byteLevelAlphabet, toByteLevel } from './byte-level.ts';
import { preTokenize } from './pre-tokenizer.ts';

export interface BpeTrainOptions {
  /** Training documents (concatenation boundaries never merge). */
  documents: readonly string[];
  /** Target vocabulary size including the 256 byte tokens (special tokens not counted). */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
}

export interface BpeModel {
  /** Token strings in byte-level spelling; index = token id. Ids 0–255 are the byte tokens. */
  vocab: string[];
  /** Merges in priority order, as [left, right] token strings. */
  merges: [string, string][];
}

interface Word {
  symbols: number[];
  count: number;
}

/** Train a byte-level BPE model. Throws on a target below 256 or an invalid minimum frequency. */
export function trainByteLevelBpe(opts: BpeTrainOptions): BpeModel {
  const minFrequency = opts.minFrequency ?? 2;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 256) throw new RangeError(`vocabSize must be an integer ≥ 256, got ${opts.vocabSize}`);
  if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new RangeError(`minFrequency must be a positive integer, got ${minFrequency}`);
  const alphabet = byteLevelAlphabet();
  const vocab = [...alphabet.order];
  const ids = new Map<string, number>(vocab.map((t, i) => [t, i]));

  const counts = new Map<string, number>();
  for (const doc of opts.documents) for (const piece of preTokenize(doc)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  // Sorted so that nothing below depends on Map insertion order of the corpus.
  const words: Word[] = [...counts.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([piece, count]) => ({ symbols: [...toByteLevel(alphabet, piece)].map((ch) => ids.get(ch)!), count }));

  const merges: [string, string][] = [];
  // Pair counts are kept up to date incrementally: only words containing the merged pair change.
  const pairCounts = new Map<number, number>();
  for (const w of words) countPairs(pairCounts, w, 1);
  while (vocab.length < opts.vocabSize) {
    const best = bestPair(pairCounts, vocab, minFrequency);
    if (!best) break;
    const [a, b] = best;
    const merged = vocab[a]! + vocab[b]!;
    let id = ids.get(merged);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(merged);
      ids.set(merged, id);
    }
    merges.push([vocab[a]!, vocab[b]!]);
    for (const w of words) {
      if (!containsPair(w.symbols, a, b)) continue;
      countPairs(pairCounts, w, -1);
      applyMerge(w.symbols, a, b, id);
      countPairs(pairCounts, w, 1);
    }
  }
  return { vocab, merges };
}

// Pair keys pack two ids into one number; ids stay far below 2^26 for any practical vocabulary.
const PAIR_SHIFT = 2 ** 26;

function countPairs(pairCounts: Map<number, number>, w: Word, sign: 1 | -1): void {
  const s = w.symbols;
  for (let i = 0; i + 1 < s.length; i++) {
    const key = s[i]! * PAIR_SHIFT + s[i + 1]!;
    const n = (pairCounts.get(key) ?? 0) + sign * w.count;
    if (n === 0) pairCounts.delete(key);
    else pairCounts.set(key, n);
  }
}

function containsPair(s: readonly number[], a: number, b: number): boolean {
  for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) return true;
  return false;
}

function bestPair(pairCounts: ReadonlyMap<number, number>, vocab: readonly string[], minFrequency: number): [number, number] | null {
  let best: [number, number] | null = null;
  let bestCount = minFrequency - 1;
  for (const [key, count] of pairCounts) {
    const a = Math.floor(key / PAIR_SHIFT);
    const b = key % PAIR_SHIFT;
    if (count > bestCount || (count === bestCount && best !== null && comparePairs(vocab, a, b, best[0], best[1]) < 0)) {
      best = [a, b];
      bestCount = count;
    }
  }
  return best;
}

function comparePairs(vocab: readonly string[], a1: number, b1: number, a2: number, b2: number): number {
  const l1 = vocab[a1]!;
  const l2 = vocab[a2]!;
  if (l1 !== l2) return l1 < l2 ? -1 : 1;
  const r1 = vocab[b1]!;
  const r2 = vocab[b2]!;
  return r1 < r2 ? -1 : r1 > r2 ? 1 : 0;
}

/** Replace every non-overlapping (a, b) in `symbols`, left to right, with `id`. */
function applyMerge(symbols: number[], a: number, b: number, id: number): void {
  let w = 0;
  for (let r = 0; r < symbols.length; r++) {
    if (r + 1 < symbols.length && symbols[r] === a && symbols[r + 1] === b) {
      symbols[w++] = id;
      r++;
    } else symbols[w++] = symbols[r]!;
  }
  symbols.length = w;
}
