/**
 * How big a prompt's text is, measured the same way on both sides: the edge refuses a prompt no
 * replica could fit, by comparing this with the bounds replicas advertise in their heartbeats
 * (protocol.ts `PromptByteBounds`), before forwarding a byte of it.
 */
import { type ChatCompletionRequest, type CompletionRequest, messageText } from './openai.ts';

/** The request field that holds the prompt (and is named in the error when it is too long). */
export type PromptField = 'prompt' | 'messages';

/** A request's prompt text: a completions prompt, or a chat's message contents (together). */
export interface PromptText {
  field: PromptField;
  parts: readonly string[];
}

/** The prompt text of a request; undefined for a token-id prompt (it has no text). */
export function promptText(req: ChatCompletionRequest | CompletionRequest): PromptText | undefined {
  if ('messages' in req) return { field: 'messages', parts: req.messages.map(messageText) };
  const p = req.prompt;
  if (typeof p === 'string') return { field: 'prompt', parts: [p] };
  if (typeof p[0] === 'string') return { field: 'prompt', parts: [p[0]] };
  return undefined;
}

/**
 * The UTF-8 length of `parts` together when it is at most `cap`; otherwise some number above
 * `cap`, found without reading further than proves it: a string has at least as many UTF-8
 * bytes as UTF-16 units, so a megabyte prompt against a kilobyte cap costs nothing to judge.
 */
export function utf8LengthCapped(parts: readonly string[], cap: number): number {
  let units = 0;
  for (const p of parts) units += p.length;
  if (units > cap) return units;
  let n = 0;
  for (const p of parts) {
    n += utf8Length(p);
    if (n > cap) return n;
  }
  return n;
}

/** UTF-8 byte length of a string without encoding it (a lone surrogate counts as U+FFFD: 3). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
