/**
 * The GPT-2 byte-level alphabet: every byte maps to one printable Unicode character so BPE tokens
 * are plain strings (space → "Ġ", newline → "Ċ"). Printable Latin-1 bytes map to themselves; the
 * rest are shifted to U+0100 and up. The order of this list is also the order of the 256 byte
 * tokens in the vocabulary (id 0 = "!", id 220 = "Ġ"), as in GPT-2 derived tokenizers.
 */

export interface ByteLevelAlphabet {
  /** byte value → its character */
  byteToChar: string[];
  /** character → byte value */
  charToByte: Map<string, number>;
  /** the 256 byte characters in vocabulary order (index = token id) */
  order: string[];
}

/** Build the byte ↔ character tables (cheap; callers build once and pass it around). */
export function byteLevelAlphabet(): ByteLevelAlphabet {
  const bytes: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b);
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b);
  const codes = [...bytes];
  let shift = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      codes.push(256 + shift++);
    }
  }
  const byteToChar = new Array<string>(256);
  const charToByte = new Map<string, number>();
  const order: string[] = [];
  bytes.forEach((b, i) => {
    const ch = String.fromCodePoint(codes[i]!);
    byteToChar[b] = ch;
    charToByte.set(ch, b);
    order.push(ch);
  });
  return { byteToChar, charToByte, order };
}

/** UTF-8 encode `text` and spell every byte with its byte-level character. */
export function toByteLevel(alphabet: ByteLevelAlphabet, text: string): string {
  let s = '';
  for (const b of new TextEncoder().encode(text)) s += alphabet.byteToChar[b];
  return s;
}

/** Inverse of `toByteLevel` (invalid UTF-8 decodes to U+FFFD, like the ByteLevel decoder). */
export function fromByteLevel(alphabet: ByteLevelAlphabet, token: string): string {
  const bytes: number[] = [];
  for (const ch of token) {
    const b = alphabet.charToByte.get(ch);
    if (b === undefined) throw new RangeError(`not a byte-level character: ${JSON.stringify(ch)}`);
    bytes.push(b);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
