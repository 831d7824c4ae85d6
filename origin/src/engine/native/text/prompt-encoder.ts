/**
 * Prompt text → token ids without holding up the event loop every request's stream runs on:
 * encoding is ~1.5 µs per character, so a 30 kB prompt is a 50 ms stall in every other stream and
 * a megabyte one seconds. A `PromptEncoder` runs the same tokenizer elsewhere (the Node adapter: a
 * worker thread, adapters/node/engine/tokenizer-worker.ts); short texts, where a round trip would
 * cost more than it saves and could queue behind a long one, are encoded inline.
 */
import type { EncodeOptions, MotifTokenizer } from './tokenizer.ts';

/** Encodes text with a copy of a model's tokenizer somewhere other than the caller's thread. */
export interface PromptEncoder {
  /** Exactly `tokenizer.encode(text, opts)`'s ids. */
  encode(text: string, opts: EncodeOptions): Promise<number[]>;
  /** Stop the encoder; pending encodes reject. */
  close(): Promise<void>;
}

/** Texts up to this many UTF-16 units are encoded inline: at most ~3 ms of the event loop. */
export const INLINE_ENCODE_CHARS = 2048;

/** Encode `text`: inline when short or when there is no encoder, else on the encoder. */
export function encodePrompt(tokenizer: MotifTokenizer, encoder: PromptEncoder | undefined, text: string, opts: EncodeOptions): Promise<number[]> {
  if (!encoder || text.length <= INLINE_ENCODE_CHARS) return Promise.resolve(tokenizer.encode(text, opts));
  return encoder.encode(text, opts);
}
