/**
 * vLLM's streamed OpenAI chunks → the engine's events. The first chunk means vLLM admitted the
 * request (`start`, with the prompt count its usage carries); each chunk's text is a `delta`; the
 * chunk with a finish reason, then the usage-only chunk and `[DONE]`, end it (`finish`, with
 * vLLM's own usage). Chat and completions chunks differ only in where text and logprobs sit.
 * Tokens per delta come from the chunk's `token_ids`, else from the growth of the running usage,
 * else one per chunk with text: provisional figures the final usage replaces. Pure.
 */
import { ApiError } from '#shared/errors.ts';
import type { EngineEvent, EngineUsage, FinishReason, TokenLogprob } from '../types.ts';

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

interface TopEntry {
  token: string;
  logprob: number;
  bytes?: number[] | null;
}

interface ToolCallPiece {
  index?: number;
  function?: { name?: string | null; arguments?: string | null } | null;
}

interface Choice {
  delta?: { content?: string | null; tool_calls?: ToolCallPiece[] | null };
  text?: string;
  token_ids?: number[] | null;
  finish_reason?: string | null;
  logprobs?: {
    content?: (TopEntry & { top_logprobs?: TopEntry[] })[] | null;
    tokens?: string[];
    token_logprobs?: (number | null)[];
    top_logprobs?: (Record<string, number> | null)[] | null;
  } | null;
}

interface Chunk {
  choices?: Choice[];
  usage?: Usage | null;
  error?: { message?: string } | string;
  object?: string;
  message?: string;
}

export interface StreamMapper {
  /** Events for one decoded `data:` payload (a JSON chunk). Throws ApiError for an error chunk. */
  push(chunk: unknown): EngineEvent[];
  /** The `finish` once the stream ended; throws when vLLM never said why it stopped. */
  end(): EngineEvent;
  /** The `finish` of a request cut short here (client gone), with the usage known so far. */
  aborted(): EngineEvent;
  /** Whether `start` was emitted. */
  readonly started: boolean;
}

const encoder = new TextEncoder();

/** A mapper for one request's stream. */
export function createStreamMapper(): StreamMapper {
  let started = false;
  let reason: FinishReason | undefined;
  const usage: EngineUsage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  // Completion tokens vLLM's running usage reported, and those handed out in deltas.
  let reported: number | undefined;
  let counted = 0;
  // Tool calls vLLM parsed, joined by index as they stream; written out as text when it finishes.
  const calls = new Map<number, { name: string; args: string }>();

  function takeUsage(u: Usage): void {
    if (typeof u.prompt_tokens === 'number') usage.promptTokens = u.prompt_tokens;
    if (typeof u.prompt_tokens_details?.cached_tokens === 'number') usage.cachedTokens = u.prompt_tokens_details.cached_tokens;
    if (typeof u.completion_tokens === 'number') reported = u.completion_tokens;
  }

  return {
    get started() {
      return started;
    },
    push(raw) {
      const chunk = (raw ?? {}) as Chunk;
      if (chunk.error !== undefined || chunk.object === 'error') {
        const message = typeof chunk.error === 'string' ? chunk.error : (chunk.error?.message ?? chunk.message ?? 'unknown error');
        throw new ApiError('engine_unavailable', `vLLM failed the request: ${message}`, { retryAfter: 1 });
      }
      const out: EngineEvent[] = [];
      if (chunk.usage) takeUsage(chunk.usage);
      if (!started) {
        started = true;
        out.push({ type: 'start', promptTokens: usage.promptTokens, cachedTokens: usage.cachedTokens });
      }
      for (const c of chunk.choices ?? []) {
        for (const piece of c.delta?.tool_calls ?? []) {
          const call = calls.get(piece.index ?? 0) ?? { name: '', args: '' };
          call.name += piece.function?.name ?? '';
          call.args += piece.function?.arguments ?? '';
          calls.set(piece.index ?? 0, call);
        }
        const text = c.delta?.content ?? c.text ?? '';
        const logprobs = mapLogprobs(c.logprobs);
        let n: number;
        if (Array.isArray(c.token_ids)) n = c.token_ids.length;
        else if (reported !== undefined) n = Math.max(0, reported - counted);
        else n = text === '' ? 0 : 1;
        if (text !== '' || n > 0 || logprobs) {
          counted += n;
          // The origin counts tokens by ids; vLLM sends them only when it knows return_token_ids.
          const tokenIds = Array.isArray(c.token_ids) ? c.token_ids : new Array<number>(n).fill(-1);
          out.push({ type: 'delta', text, tokenIds, ...(logprobs ? { logprobs } : {}) });
        }
        if (c.finish_reason) {
          reason = c.finish_reason === 'length' ? 'length' : c.finish_reason === 'abort' ? 'abort' : 'stop';
          if (calls.size > 0) out.push({ type: 'delta', text: callsText(calls), tokenIds: [] });
          calls.clear();
        }
      }
      return out;
    },
    end() {
      if (!reason) throw new ApiError('engine_unavailable', 'vLLM ended the stream without a finish reason.', { retryAfter: 1 });
      return { type: 'finish', reason, usage: { ...usage, completionTokens: reported ?? counted } };
    },
    aborted() {
      return { type: 'finish', reason: 'abort', usage: { ...usage, completionTokens: Math.max(counted, reported ?? 0) } };
    },
  };
}

/** Calls as `<tool_call>` blocks (the engines' convention, parsed by the server like native output). */
function callsText(calls: Map<number, { name: string; args: string }>): string {
  return [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, c]) => {
      let args: unknown = c.args;
      try {
        args = JSON.parse(c.args === '' ? '{}' : c.args);
      } catch {
        // Kept as text: the server then leaves the block as content rather than invent arguments.
      }
      return `<tool_call>\n${JSON.stringify({ name: c.name, arguments: args })}\n</tool_call>`;
    })
    .join('\n');
}

const bytesOf = (e: TopEntry) => e.bytes ?? [...encoder.encode(e.token)];

/** Chat logprobs (`content[]`) or completions logprobs (parallel arrays) → the engine's. */
function mapLogprobs(lp: Choice['logprobs']): TokenLogprob[] | undefined {
  if (!lp) return undefined;
  if (Array.isArray(lp.content)) {
    return lp.content.map((e) => ({
      token: e.token,
      logprob: e.logprob,
      bytes: bytesOf(e),
      top: (e.top_logprobs ?? []).map((t) => ({ token: t.token, logprob: t.logprob, bytes: bytesOf(t) })),
    }));
  }
  if (!Array.isArray(lp.tokens)) return undefined;
  return lp.tokens.map((token, i) => ({
    token,
    logprob: lp.token_logprobs?.[i] ?? 0,
    bytes: [...encoder.encode(token)],
    top: Object.entries(lp.top_logprobs?.[i] ?? {}).map(([t, logprob]) => ({ token: t, logprob, bytes: [...encoder.encode(t)] })),
  }));
}

/**
 * A refusal from vLLM (a non-2xx answer before any chunk) as the origin's error: bad requests keep
 * vLLM's message (a too-long prompt is `context_length_exceeded`), overload and server faults
 * become retryable 503s so the edge can try another replica.
 */
export function vllmError(status: number, bodyText: string, promptParam: 'messages' | 'prompt'): ApiError {
  let message = bodyText.slice(0, 500);
  try {
    const body = JSON.parse(bodyText) as { message?: unknown; error?: { message?: unknown } };
    const m = body.error?.message ?? body.message;
    if (typeof m === 'string') message = m;
  } catch {
    // not JSON: keep the text
  }
  if (status === 400 || status === 422) {
    if (/context length|maximum context|too long/i.test(message)) return new ApiError('context_length_exceeded', message, { param: promptParam });
    return new ApiError('invalid_request_error', message);
  }
  if (status === 429 || status === 503) return new ApiError('overloaded', `vLLM is overloaded: ${message}`, { retryAfter: 1 });
  return new ApiError('engine_unavailable', `vLLM answered ${status}: ${message}`, { retryAfter: 1 });
}
