/**
 * Which tokens a JSON recognizer state allows: every token's bytes walked through the machine,
 * over the vocabulary sorted by bytes so tokens sharing a prefix share its walk (a token only
 * steps the bytes after its common prefix with the previous one), and a rejected prefix skips
 * every token that starts with it. Masks are cached per state, so the walk runs once per distinct
 * state of a grammar (inside an unbounded string the state repeats).
 */
import { type MachineState, plainStringRoom, step } from './json-machine.ts';
import { plainStringChars } from './scalar-frames.ts';

/** What the mask needs of a tokenizer (MotifTokenizer has it). */
export interface TokenVocabulary {
  /** Token ids 0..size-1 have bytes; ids past it (vocabulary padding) are never allowed. */
  readonly size: number;
  tokenBytes(id: number): Uint8Array;
  isSpecial(id: number): boolean;
}

/** The non-special tokens sorted by their bytes, with each one's common prefix with the previous. */
export class VocabIndex {
  /** Token id at each sorted position. */
  readonly ids: Int32Array;
  readonly data: Uint8Array;
  readonly start: Uint32Array;
  /** Bytes shared with the previous token in sorted order. */
  readonly lcp: Uint16Array;
  /** Characters of each token when it is plain string content, else -1 (plainStringChars). */
  readonly stringChars: Int32Array;

  /** `exclude`: ids never generated under a grammar (end-of-sequence, which the mask adds itself). */
  constructor(vocab: TokenVocabulary, exclude: ReadonlySet<number> = new Set()) {
    const tokens: { id: number; bytes: Uint8Array; latin1: string }[] = [];
    let total = 0;
    for (let id = 0; id < vocab.size; id++) {
      const bytes = vocab.tokenBytes(id);
      // Special tokens carry no text; empty ones would never move the document forward.
      if (bytes.length === 0 || vocab.isSpecial(id) || exclude.has(id)) continue;
      // One char per byte: string order is byte order, and the engine's comparison is native.
      tokens.push({ id, bytes, latin1: String.fromCharCode(...bytes) });
      total += bytes.length;
    }
    tokens.sort((a, b) => (a.latin1 < b.latin1 ? -1 : a.latin1 > b.latin1 ? 1 : 0));
    this.ids = new Int32Array(tokens.length);
    this.data = new Uint8Array(total);
    this.start = new Uint32Array(tokens.length + 1);
    this.lcp = new Uint16Array(tokens.length);
    this.stringChars = new Int32Array(tokens.length);
    let o = 0;
    tokens.forEach((t, i) => {
      this.ids[i] = t.id;
      this.start[i] = o;
      this.data.set(t.bytes, o);
      o += t.bytes.length;
      if (i > 0) this.lcp[i] = Math.min(0xffff, commonPrefix(tokens[i - 1]!.bytes, t.bytes));
      this.stringChars[i] = plainStringChars(t.bytes);
    });
    this.start[tokens.length] = o;
  }

  get count(): number {
    return this.ids.length;
  }
}

function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Bitset (bit `id` of word `id >> 5`) of the tokens whose bytes `state` accepts. */
export function allowedTokens(index: VocabIndex, state: MachineState, words: number): Uint32Array {
  const mask = new Uint32Array(words);
  const { ids, data, start, lcp, stringChars } = index;
  // Inside a string most tokens are plain text: allowed by their length alone, no walk.
  const room = plainStringRoom(state);
  // states[k]: the state after the current token's first k bytes, valid for k <= valid.
  const states: MachineState[] = [state];
  let valid = 0;
  // Position of the byte that killed the previous token's walk (-1: it did not die).
  let dead = -1;
  for (let i = 0; i < ids.length; i++) {
    const shared = lcp[i]!;
    if (room !== undefined && stringChars[i]! >= 0) {
      if (stringChars[i]! <= room) mask[ids[i]! >>> 5]! |= 1 << (ids[i]! & 31);
      // The walk's saved states are for the previous walked token: start the next one afresh.
      valid = 0;
      dead = -1;
      continue;
    }
    if (dead >= 0 && shared > dead) continue; // starts with the rejected prefix
    const from = start[i]!;
    const len = start[i + 1]! - from;
    let k = Math.min(shared, valid);
    dead = -1;
    for (; k < len; k++) {
      const next = step(states[k]!, data[from + k]!);
      if (next.length === 0) {
        dead = k;
        break;
      }
      states[k + 1] = next;
    }
    valid = dead >= 0 ? dead : len;
    if (dead < 0) {
      const id = ids[i]!;
      mask[id >>> 5]! |= 1 << (id & 31);
    }
  }
  return mask;
}

/** Set every logit outside `mask` to -Infinity (the sampler then never picks it). */
export function applyMask(logits: Float32Array, mask: Uint32Array): void {
  const n = logits.length;
  for (let w = 0; w * 32 < n; w++) {
    const bits = mask[w] ?? 0;
    if (bits === 0xffffffff) continue;
    const end = Math.min(n, w * 32 + 32);
    for (let id = w * 32; id < end; id++) if (!(bits & (1 << (id & 31)))) logits[id] = -Infinity;
  }
}
