/**
 * Prompts without a tokenizer: the simulator renders a chat as plain text (`role: content` lines
 * and an `assistant:` cue), counts one token per 4 UTF-8 bytes (rounded up; BPE tokenizers average
 * about 4 bytes a token on English), and hashes each full 16-token block over its 64-byte range,
 * chained, for the prefix cache. Token-id prompts count and hash their ids as given.
 */
import { blockHash } from '../native/batching/prefix-cache.ts';
import type { EnginePrompt } from '../types.ts';
import { BLOCK_TOKENS } from './latency-model.ts';

export const BYTES_PER_TOKEN = 4;

export interface SimPrompt {
  /** Token count as the simulator bills it. */
  tokens: number;
  /** Chained hashes of the full blocks, first block first. */
  blockHashes: number[];
  /** A hash of the whole prompt (seeds deterministic output). */
  digest: number;
}

const encoder = new TextEncoder();

/** The text the simulator "tokenizes" for a prompt (undefined for token ids). */
export function renderPrompt(prompt: EnginePrompt): string | undefined {
  if (prompt.kind === 'text') return prompt.text;
  if (prompt.kind === 'ids') return undefined;
  return `${prompt.messages.map((m) => `${m.role}: ${m.content}\n`).join('')}assistant: `;
}

/** Count and hash a prompt. */
export function simPrompt(prompt: EnginePrompt): SimPrompt {
  const text = renderPrompt(prompt);
  if (text === undefined) {
    const ids = prompt.kind === 'ids' ? prompt.ids : [];
    return { tokens: ids.length, ...chain(ids, BLOCK_TOKENS) };
  }
  const bytes = encoder.encode(text);
  return { tokens: Math.ceil(bytes.length / BYTES_PER_TOKEN), ...chain(bytes, BLOCK_TOKENS * BYTES_PER_TOKEN) };
}

function chain(units: ArrayLike<number>, unitsPerBlock: number): { blockHashes: number[]; digest: number } {
  const blockHashes: number[] = [];
  let parent = 0;
  const full = Math.floor(units.length / unitsPerBlock);
  for (let b = 0; b < full; b++) {
    parent = blockHash(parent, units, b * unitsPerBlock, unitsPerBlock);
    blockHashes.push(parent);
  }
  const digest = blockHash(parent, units, full * unitsPerBlock, units.length - full * unitsPerBlock);
  return { blockHashes, digest };
}

/**
 * Longest prompt text, in bytes, whose token count stays below `maxContext` (a longer one surely
 * cannot fit; a chat's contents are a part of its rendered text, so the bound holds for them too).
 */
export function maxPromptBytesBelow(maxContext: number): number {
  return (maxContext - 1) * BYTES_PER_TOKEN;
}
