/**
 * Responses rendered exactly as OpenAI shapes them: `chat.completion` / `text_completion` bodies
 * and their stream chunks (role chunk first for chat, content deltas, a finish chunk, an optional
 * usage chunk with `choices: []`), with logprobs in each endpoint's own format.
 */
import type { ChatCompletion, ChatCompletionChunk, Completion, Usage } from '#shared/openai.ts';
import type { AssistantToolCall } from '#shared/openai-tools.ts';
import type { EngineUsage, TokenLogprob } from '../engine/types.ts';
import type { Endpoint } from './map-request.ts';
import { parseToolCalls, type ToolOffer } from './tool-calls.ts';
import { type ToolStreamPiece, toolStreamSplitter } from './tool-stream.ts';

export type DoneReason = 'stop' | 'length';

export interface RenderContext {
  requestId: string;
  /** Unix seconds. */
  created: number;
  model: string;
  fingerprint: string;
  includeUsage: boolean;
  logprobs: boolean;
  /** The functions offered (chat with tools): the answer is parsed for their calls. */
  tools?: ToolOffer;
}

export interface Renderer {
  /** The chunk sent as soon as the engine admitted the prompt (chat: the role chunk), if any. */
  first(): object | null;
  delta(text: string, logprobs: TokenLogprob[] | undefined): object;
  finish(reason: DoneReason): object;
  usage(usage: EngineUsage): object;
  /** A whole non-stream body. */
  complete(text: string, logprobs: TokenLogprob[], reason: DoneReason, usage: EngineUsage): object;
  /**
   * With tools offered (chat): the chunks of a streamed answer as it is generated — text as
   * content deltas, each call as soon as its block closes — and, at the end, the rest and the
   * finish chunk. Null when no tools were offered.
   */
  toolStream(): ToolStreamRenderer | null;
}

export interface ToolStreamRenderer {
  push(text: string): object[];
  end(reason: DoneReason): object[];
}

/** OpenAI usage object from exact engine counts. */
export function toUsage(u: EngineUsage): Usage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: Math.min(u.cachedTokens, u.promptTokens) },
  };
}

const top = (t: { token: string; logprob: number; bytes: number[] }) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes });

function chatLogprobs(lps: TokenLogprob[]) {
  return { content: lps.map((t) => ({ ...top(t), top_logprobs: t.top.map(top) })) };
}

/** Create the renderer of one response. */
export function createRenderer(endpoint: Endpoint, ctx: RenderContext): Renderer {
  return endpoint === 'chat.completions' ? chatRenderer(ctx) : completionRenderer(ctx);
}

function chatRenderer(ctx: RenderContext): Renderer {
  const id = `chatcmpl-${ctx.requestId}`;
  // With include_usage, OpenAI sends `usage: null` on every chunk but the last.
  const chunk = (choice: ChatCompletionChunk['choices'][number]): ChatCompletionChunk => ({
    id,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model: ctx.model,
    system_fingerprint: ctx.fingerprint,
    choices: [choice],
    ...(ctx.includeUsage ? { usage: null } : {}),
  });
  // A call ends the answer as `tool_calls`. When max_tokens cut the answer, the calls completed
  // before the cut are still calls (a stream has sent them already) and the reason stays `length`;
  // a call cut in the middle is text.
  const finishReason = (called: boolean, reason: DoneReason) => (called && reason === 'stop' ? ('tool_calls' as const) : reason);
  const answer = (text: string, reason: DoneReason) => {
    const parsed = ctx.tools ? parseToolCalls(text, ctx.tools) : { content: text, calls: [] };
    return { ...parsed, reason: finishReason(parsed.calls.length > 0, reason) };
  };
  const callChunk = (index: number, c: AssistantToolCall) =>
    chunk({
      index: 0,
      // One chunk per call, whole: the SDK joins argument fragments by index either way.
      delta: { tool_calls: [{ index, id: c.id, type: 'function' as const, function: { name: c.function.name, arguments: c.function.arguments } }] },
      logprobs: null,
      finish_reason: null,
    });
  return {
    first: () => chunk({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }),
    toolStream: () => {
      if (!ctx.tools) return null;
      const splitter = toolStreamSplitter(ctx.tools);
      let calls = 0;
      const chunks = (pieces: ToolStreamPiece[]) =>
        pieces.map((p) =>
          p.kind === 'call' ? callChunk(calls++, p.call) : chunk({ index: 0, delta: { content: p.text }, logprobs: null, finish_reason: null }),
        );
      return {
        push: (text) => chunks(splitter.push(text)),
        end: (reason) => [...chunks(splitter.end()), chunk({ index: 0, delta: {}, logprobs: null, finish_reason: finishReason(splitter.called, reason) })],
      };
    },
    delta: (text, lps) => chunk({ index: 0, delta: { content: text }, logprobs: ctx.logprobs && lps ? chatLogprobs(lps) : null, finish_reason: null }),
    finish: (reason) => chunk({ index: 0, delta: {}, logprobs: null, finish_reason: reason }),
    usage: (u): ChatCompletionChunk => ({
      id,
      object: 'chat.completion.chunk',
      created: ctx.created,
      model: ctx.model,
      system_fingerprint: ctx.fingerprint,
      choices: [],
      usage: toUsage(u),
    }),
    complete: (text, lps, reason, u): ChatCompletion => {
      const a = answer(text, reason);
      return {
        id,
        object: 'chat.completion',
        created: ctx.created,
        model: ctx.model,
        system_fingerprint: ctx.fingerprint,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: a.content, refusal: null, ...(a.calls.length > 0 ? { tool_calls: a.calls } : {}) },
            logprobs: ctx.logprobs ? chatLogprobs(lps) : null,
            finish_reason: a.reason,
          },
        ],
        usage: toUsage(u),
      };
    },
  };
}

function completionRenderer(ctx: RenderContext): Renderer {
  const id = `cmpl-${ctx.requestId}`;
  // text_offset counts characters of the generated text, across chunks.
  let offset = 0;
  const logprobs = (lps: TokenLogprob[]) => {
    const out = {
      tokens: [] as string[],
      token_logprobs: [] as (number | null)[],
      top_logprobs: [] as (Record<string, number> | null)[],
      text_offset: [] as number[],
    };
    for (const t of lps) {
      out.tokens.push(t.token);
      out.token_logprobs.push(t.logprob);
      out.top_logprobs.push(t.top.length ? Object.fromEntries(t.top.map((x) => [x.token, x.logprob])) : null);
      out.text_offset.push(offset);
      offset += t.token.length;
    }
    return out;
  };
  const body = (choice: Completion['choices'][number], usage?: Usage | null): Completion => ({
    id,
    object: 'text_completion',
    created: ctx.created,
    model: ctx.model,
    system_fingerprint: ctx.fingerprint,
    choices: [choice],
    ...(usage !== undefined ? { usage } : ctx.includeUsage ? { usage: null } : {}),
  });
  return {
    first: () => null,
    delta: (text, lps) => body({ index: 0, text, logprobs: ctx.logprobs && lps ? logprobs(lps) : null, finish_reason: null }),
    finish: (reason) => body({ index: 0, text: '', logprobs: null, finish_reason: reason }),
    usage: (u) => ({
      id,
      object: 'text_completion',
      created: ctx.created,
      model: ctx.model,
      system_fingerprint: ctx.fingerprint,
      choices: [],
      usage: toUsage(u),
    }),
    complete: (text, lps, reason, u) => body({ index: 0, text, logprobs: ctx.logprobs ? logprobs(lps) : null, finish_reason: reason }, toUsage(u)),
    // Tools are a chat feature: a completion is never parsed for calls.
    toolStream: () => null,
  };
}
