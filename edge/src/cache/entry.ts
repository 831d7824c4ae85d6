/**
 * What the response cache stores: one finished completion (its text as the pieces the origin
 * produced, each with its logprobs, the finish reason, usage, the revision that generated it),
 * built from a JSON answer or from a stream's chunks, and replayed as either: a JSON answer, or
 * an SSE stream of the same chunk shape the origin sends (role chunk for chat, one chunk per
 * piece, the finish chunk, the usage chunk when asked for, `data: [DONE]`).
 */
import { z } from 'zod';
import { Usage } from '#shared/openai.ts';
import { SSE_DONE, sseData } from '#shared/sse.ts';
import type { CacheEndpoint } from './key.ts';

export const CachedCompletion = z.object({
  endpoint: z.enum(['chat.completions', 'completions']),
  model: z.string(),
  revision: z.string(),
  system_fingerprint: z.string().optional(),
  /** The generated text in the pieces it came in; `logprobs` is that piece's, as the API shapes it. */
  pieces: z.array(z.object({ text: z.string(), logprobs: z.unknown().optional() })),
  finish_reason: z.string().nullable(),
  usage: Usage,
});
export type CachedCompletion = z.infer<typeof CachedCompletion>;

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The entry of a JSON answer (status 200), or undefined when it is not a complete one-choice completion. */
export function entryFromJson(endpoint: CacheEndpoint, body: unknown, revision: string): CachedCompletion | undefined {
  if (!isRecord(body) || !Array.isArray(body.choices) || body.choices.length !== 1) return undefined;
  const choice: unknown = body.choices[0];
  const usage = Usage.safeParse(body.usage);
  if (!isRecord(choice) || !usage.success) return undefined;
  const text = endpoint === 'chat.completions' ? (isRecord(choice.message) ? choice.message.content : undefined) : choice.text;
  if (typeof text !== 'string') return undefined;
  return finished(endpoint, body, revision, [{ text, logprobs: choice.logprobs ?? undefined }], choice.finish_reason, usage.data);
}

function finished(
  endpoint: CacheEndpoint,
  head: Json,
  revision: string,
  pieces: CachedCompletion['pieces'],
  finishReason: unknown,
  usage: Usage,
): CachedCompletion | undefined {
  const parsed = CachedCompletion.safeParse({
    endpoint,
    model: head.model,
    revision,
    system_fingerprint: typeof head.system_fingerprint === 'string' ? head.system_fingerprint : undefined,
    pieces,
    finish_reason: finishReason ?? null,
    usage,
  });
  return parsed.success ? parsed.data : undefined;
}

/**
 * Collects a stream's chunks (as the origin sent them, usage chunk included) into an entry;
 * `complete` returns it only for a stream that ended with `[DONE]` and carried usage.
 */
export function streamCollector(endpoint: CacheEndpoint) {
  const pieces: CachedCompletion['pieces'] = [];
  let head: Json | undefined;
  let finishReason: unknown = null;
  let usage: Usage | undefined;
  let usable = true;
  return {
    chunk(chunk: Json): void {
      head ??= chunk;
      const u = chunk.usage == null ? undefined : Usage.safeParse(chunk.usage);
      if (u?.success) usage = u.data;
      if (!Array.isArray(chunk.choices)) return;
      for (const choice of chunk.choices as unknown[]) {
        if (!isRecord(choice) || (choice.index ?? 0) !== 0) {
          usable = false;
          continue;
        }
        const text = endpoint === 'chat.completions' ? (isRecord(choice.delta) ? choice.delta.content : undefined) : choice.text;
        if (choice.finish_reason != null) finishReason = choice.finish_reason;
        // The role chunk's empty content and the finish chunk carry no text.
        if (typeof text === 'string' && (text !== '' || choice.logprobs != null)) pieces.push({ text, logprobs: choice.logprobs ?? undefined });
      }
    },
    /** The entry, with the revision of the replica that generated it. */
    complete(revision: string): CachedCompletion | undefined {
      if (!usable || !head || !usage) return undefined;
      return finished(endpoint, head, revision, pieces, finishReason, usage);
    },
  };
}

export interface ReplayIdentity {
  /** The hit's own id (the edge's request id), so two hits are two responses. */
  id: string;
  /** Unix seconds. */
  created: number;
}

/** Logprobs of the whole text, joined from the pieces' (null when the answer had none). */
function joinedLogprobs(e: CachedCompletion): unknown {
  const parts = e.pieces.map((p) => p.logprobs).filter(isRecord);
  if (parts.length === 0) return null;
  if (e.endpoint === 'chat.completions') return { content: parts.flatMap((p) => (Array.isArray(p.content) ? p.content : [])) };
  const field = (name: string) => parts.flatMap((p) => (Array.isArray(p[name]) ? (p[name] as unknown[]) : []));
  return { tokens: field('tokens'), token_logprobs: field('token_logprobs'), top_logprobs: field('top_logprobs'), text_offset: field('text_offset') };
}

const fingerprint = (e: CachedCompletion) => (e.system_fingerprint === undefined ? {} : { system_fingerprint: e.system_fingerprint });

/** The entry as the JSON answer of a non-streamed request. */
export function replayJson(e: CachedCompletion, who: ReplayIdentity): Json {
  const text = e.pieces.map((p) => p.text).join('');
  const base = { created: who.created, model: e.model, ...fingerprint(e) };
  const logprobs = joinedLogprobs(e);
  if (e.endpoint === 'chat.completions') {
    return {
      id: `chatcmpl-${who.id}`,
      object: 'chat.completion',
      ...base,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs, finish_reason: e.finish_reason }],
      usage: e.usage,
    };
  }
  return { id: `cmpl-${who.id}`, object: 'text_completion', ...base, choices: [{ index: 0, text, logprobs, finish_reason: e.finish_reason }], usage: e.usage };
}

/** The entry as SSE frames, `data: [DONE]` last; the usage chunk only when the client asked for it. */
export function replaySse(e: CachedCompletion, who: ReplayIdentity, includeUsage: boolean): Uint8Array[] {
  const chat = e.endpoint === 'chat.completions';
  const head = {
    id: `${chat ? 'chatcmpl' : 'cmpl'}-${who.id}`,
    object: chat ? 'chat.completion.chunk' : 'text_completion',
    created: who.created,
    model: e.model,
    ...fingerprint(e),
  };
  const choice = (text: string | null, logprobs: unknown, finish: string | null, role = false) =>
    chat
      ? { index: 0, delta: text === null ? {} : role ? { role: 'assistant', content: text } : { content: text }, logprobs, finish_reason: finish }
      : { index: 0, text: text ?? '', logprobs, finish_reason: finish };
  const frames: Uint8Array[] = [];
  if (chat) frames.push(sseData({ ...head, choices: [choice('', null, null, true)] }));
  for (const p of e.pieces) frames.push(sseData({ ...head, choices: [choice(p.text, p.logprobs ?? null, null)] }));
  frames.push(sseData({ ...head, choices: [choice(null, null, e.finish_reason)] }));
  if (includeUsage) frames.push(sseData({ ...head, choices: [], usage: e.usage }));
  frames.push(SSE_DONE);
  return frames;
}
