/**
 * The prompt's leading blocks as chained hashes: the text (message contents in order, each
 * followed by a separator so ["ab", "c"] and ["a", "bc"] differ) as UTF-8, cut into fixed-size
 * byte blocks; hash i covers every byte up to the end of block i, so two prompts share hash i
 * exactly when they share their first i + 1 blocks. The last block may be partial: it only ever
 * matches the same prompt again. Only the first `maxBlocks` blocks are read, so a megabyte prompt
 * costs what a short one does.
 */
import type { PromptText } from '#shared/prompt-size.ts';

const SEPARATOR = '\u001e';
const encoder = new TextEncoder();

/** The hashes of the prompt's first `maxBlocks` blocks of `blockBytes` bytes, as short strings. */
export function blockHashes(prompt: PromptText, blockBytes: number, maxBlocks: number): string[] {
  const capBytes = blockBytes * maxBlocks;
  const bytes = encoder.encode(leadingText(prompt.parts, capBytes)).subarray(0, capBytes);
  const out: string[] = [];
  // A 64-bit streaming hash in two 32-bit lanes (multiply-xor per byte, mixed at each block end).
  let h1 = 0x9e3779b9;
  let h2 = 0x85ebca6b;
  for (let start = 0; start < bytes.length; start += blockBytes) {
    const end = Math.min(bytes.length, start + blockBytes);
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      h1 = Math.imul(h1 ^ b, 0x9e3779b1);
      h2 = Math.imul(h2 ^ b, 0x5f356495);
    }
    const a = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
    const c = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
    out.push(`${(a >>> 0).toString(36)}.${(c >>> 0).toString(36)}`);
  }
  return out;
}

/**
 * At least the first `capBytes` UTF-8 bytes of the parts joined with separators, without joining
 * more: a UTF-16 unit encodes to at least one byte, so `capBytes` units are enough.
 */
function leadingText(parts: readonly string[], capBytes: number): string {
  let text = '';
  for (const p of parts) {
    if (text.length >= capBytes) break;
    text += p.slice(0, capBytes - text.length) + SEPARATOR;
  }
  return text;
}
