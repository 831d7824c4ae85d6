/**
 * Helpers of `npm run bench:grammar`: a synthetic byte-level vocabulary the size of Motif's (no
 * real tokenizer file is needed), greedy longest-match tokenization over it, and the timing of a
 * structured-output document replayed token by token through a `JsonConstraint` (mask + advance).
 */
import type { TokenVocabulary } from '../../origin/src/engine/native/grammar/token-mask.ts';

/** A deterministic vocabulary of `size` tokens: every byte, JSON punctuation, digits, English-like and Hangul pieces. */
export function syntheticVocabulary(size: number, seed = 1): TokenVocabulary & { idOf: Map<string, number> } {
  const enc = new TextEncoder();
  let s = seed >>> 0;
  const rand = (n: number) => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s % n;
  };
  const pieces: Uint8Array[] = [];
  const idOf = new Map<string, number>();
  const add = (bytes: Uint8Array) => {
    const key = Array.from(bytes).join(',');
    if (idOf.has(key) || pieces.length >= size) return;
    idOf.set(key, pieces.length);
    pieces.push(bytes);
  };
  for (let b = 0; b < 256; b++) add(Uint8Array.of(b));
  for (const p of ['{"', '"}', '":', '":"', '","', '",', '},', '],', '[{', '}]', '":[', '":{', '":"', ' "', '\\n', 'true', 'false', 'null']) add(enc.encode(p));
  for (let n = 0; n < 1000; n++) add(enc.encode(String(n)));
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  let guard = 0;
  while (pieces.length < size && guard++ < size * 4) {
    const kind = rand(10);
    let text = '';
    if (kind < 3) {
      // Hangul syllables (3 bytes each), as in Motif's Korean vocabulary.
      const n = 1 + rand(3);
      for (let i = 0; i < n; i++) text += String.fromCharCode(0xac00 + rand(11172));
    } else {
      const n = 2 + rand(9);
      for (let i = 0; i < n; i++) text += letters[Math.min(letters.length - 1, rand(letters.length) % (1 + rand(letters.length)))];
      if (kind === 9) text = text[0]!.toUpperCase() + text.slice(1);
    }
    add(enc.encode(rand(2) === 0 ? ` ${text}` : text));
  }
  return { size: pieces.length, idOf, tokenBytes: (id) => pieces[id] ?? new Uint8Array(0), isSpecial: () => false };
}

/** Greedy longest-match token ids of `text` over `vocab` (every byte is a token, so it always succeeds). */
export function tokenizeGreedy(vocab: { idOf: Map<string, number> }, text: string, longest = 32): number[] {
  const bytes = new TextEncoder().encode(text);
  const ids: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    for (let n = Math.min(longest, bytes.length - i); n >= 1; n--) {
      const id = vocab.idOf.get(Array.from(bytes.subarray(i, i + n)).join(','));
      if (id !== undefined) {
        ids.push(id);
        i += n;
        break;
      }
    }
  }
  return ids;
}

export interface ReplayTimes {
  tokens: number;
  meanUs: number;
  p95Us: number;
  maxUs: number;
}

/** Time `mask` + `advance` for each token of `ids` (µs per token). */
export function timeReplay(
  ids: readonly number[],
  rowSize: number,
  constraint: { apply(l: Float32Array): void; accept(id: number): void },
  now: () => number,
): ReplayTimes {
  const logits = new Float32Array(rowSize);
  const times: number[] = [];
  for (const id of ids) {
    const t0 = now();
    constraint.apply(logits);
    if (logits[id] === -Infinity) throw new Error(`token ${id} was masked: the replayed document does not match its schema`);
    constraint.accept(id);
    times.push((now() - t0) * 1000);
    logits.fill(0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    tokens: times.length,
    meanUs: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    p95Us: sorted[Math.floor(0.95 * (sorted.length - 1))] ?? 0,
    maxUs: sorted.at(-1) ?? 0,
  };
}
