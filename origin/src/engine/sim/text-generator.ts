/**
 * Completion text without a model: one word from a fixed list per token, chosen by a seeded PRNG.
 * Deterministic requests (temperature 0, or a seed) are seeded from the seed or the prompt's hash,
 * so the same request gets the same text; others draw a random seed. The same generator draws
 * the natural length at which the "model" stops on its own.
 */
import { createPrng, type Prng } from '../native/sampling/prng.ts';

const WORDS = (
  'the of and to in is that it for as with was on be by this are from at or an have not which but ' +
  'model token cache batch prefix block replica edge origin stream request latency queue decode ' +
  'prefill context memory kernel weight layer attention sample window budget signal metric'
).split(' ');

export interface TextGeneratorOptions {
  temperature: number;
  seed?: number;
  /** Prompt hash: the seed of a deterministic request without one. */
  promptDigest: number;
  /** Mean of the natural length, tokens (drawn uniformly in [1, 2×mean]). */
  meanOutputTokens: number;
}

export class TextGenerator {
  readonly #prng: Prng;
  /** Tokens after which the sequence ends with 'stop' unless ignoreEos or max_tokens intervene. */
  readonly naturalLength: number;
  #count = 0;

  constructor(o: TextGeneratorOptions) {
    const deterministic = o.temperature === 0 || o.seed !== undefined;
    this.#prng = createPrng(deterministic ? (o.seed ?? o.promptDigest) : undefined);
    this.naturalLength = 1 + Math.floor(this.#prng.next() * 2 * o.meanOutputTokens);
  }

  /** The next token: its fake id (the word's index) and text (a leading space after the first). */
  next(): { id: number; text: string } {
    const id = Math.floor(this.#prng.next() * WORDS.length);
    const text = this.#count++ === 0 ? WORDS[id]! : ` ${WORDS[id]!}`;
    return { id, text };
  }
}

/**
 * Where the earliest stop string starts in `emitted + next` (only matches that end inside `next`
 * are looked for: earlier text was already checked), as an index into `next`, or undefined. A
 * stop string straddling the boundary was partly sent already: the simulator holds nothing back.
 */
export function findStop(emitted: string, next: string, stop: readonly string[]): number | undefined {
  let best: number | undefined;
  for (const s of stop) {
    if (!s) continue;
    const from = Math.max(0, emitted.length - s.length + 1);
    const joined = emitted.slice(from) + next;
    const at = joined.indexOf(s);
    if (at < 0) continue;
    const inNext = Math.max(0, at - (emitted.length - from));
    if (best === undefined || inNext < best) best = inNext;
  }
  return best;
}
