/**
 * How big a prompt's text is, measured the same way on both sides: the edge refuses a prompt no
 * replica could fit, by comparing this with the bounds replicas advertise in their heartbeats
 * (protocol.ts `PromptByteBounds`), before forwarding a byte of it.
 */
import { type ChatCompletionRequest, type CompletionRequest, messageText } from './openai.ts';

/** The request field that holds the prompt (and is named in the error when it is too long). */
export type PromptField = 'prompt' | 'messages';

export interface PromptSize {
  field: PromptField;
  /** UTF-8 bytes of the prompt's text: a completions prompt, or a chat's message contents together. */
  bytes: number;
}

/** The size of a request's prompt text; undefined for a token-id prompt (it has no text). */
export function promptSize(req: ChatCompletionRequest | CompletionRequest): PromptSize | undefined {
  if ('messages' in req) {
    let bytes = 0;
    for (const m of req.messages) bytes += utf8Length(messageText(m));
    return { field: 'messages', bytes };
  }
  const p = req.prompt;
  if (typeof p === 'string') return { field: 'prompt', bytes: utf8Length(p) };
  if (typeof p[0] === 'string') return { field: 'prompt', bytes: utf8Length(p[0]) };
  return undefined;
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
