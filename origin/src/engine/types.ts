/**
 * The Engine port (DESIGN §7): one interface for every backend (native TS Motif, supervised vLLM,
 * the load-test simulator). The origin server only talks to this interface; backends register in
 * `registry.ts`, so a new backend is a new folder, not a new `if`.
 */
import { z } from 'zod';
import type { AssistantToolCall, ToolRequest } from '#shared/openai-tools.ts';
import type { PromptByteBounds } from '#shared/protocol.ts';

export const EngineBackend = z.enum(['native', 'vllm', 'sim']);
export type EngineBackend = z.infer<typeof EngineBackend>;

export interface EngineInfo {
  backend: EngineBackend;
  /** Public model id, e.g. `motif-2.6b`. */
  model: string;
  /** Weights revision being served (manifest revision id, or `local`). */
  revision: string;
  /** Largest prompt + completion length the engine accepts. */
  maxContextTokens: number;
  /**
   * The longest prompt text, in UTF-8 bytes by request field, that could still fit the context: a
   * longer one surely cannot, so the edge refuses it unseen. A field is absent when the engine
   * cannot promise that (and the whole object when it never can).
   */
  maxPromptBytes?: PromptByteBounds;
}

export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  /** 0 = off. */
  topK: number;
  /** 0 = off. */
  minP: number;
  /** Same seed + same request → same output. */
  seed?: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** 1 = off (multiplicative, HF/vLLM semantics). */
  repetitionPenalty: number;
}

export const DEFAULT_SAMPLING: SamplingParams = {
  temperature: 1,
  topP: 1,
  topK: 0,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
};

/** A chat turn; an assistant turn may carry tool calls, a `tool` turn answers one by its id. */
export interface EngineChatMessage {
  role: string;
  content: string;
  tool_calls?: AssistantToolCall[];
  tool_call_id?: string;
}

export type EnginePrompt = { kind: 'chat'; messages: EngineChatMessage[] } | { kind: 'text'; text: string } | { kind: 'ids'; ids: number[] };

export interface GenerateRequest {
  requestId: string;
  prompt: EnginePrompt;
  /** Completion token budget; undefined = up to the context limit. */
  maxTokens?: number;
  sampling: SamplingParams;
  /** Stop strings: generation ends before them and they never reach the output. */
  stop: string[];
  /** Number of top logprobs to return per token; undefined = no logprobs. */
  topLogprobs?: number;
  /** Keep generating past eos ids (vLLM's `ignore_eos`; benchmarks and tests). */
  ignoreEos?: boolean;
  /**
   * Structured output: the completion must be a JSON object (`json_object`) or a document valid
   * against `schema` (already checked to be in shared/json-schema-subset.ts's subset).
   * Undefined = free text.
   */
  responseFormat?: StructuredFormat;
  /**
   * Tools offered to the model (chat only): rendered into the prompt, and when the choice forces
   * a call, the answer is constrained to `forcedToolSchema` (shared/openai-tools.ts); under `auto`
   * with a strict function, each `<tool_call>` block the model opens to `autoCallSchema`. The
   * engine answers text in the tool-call convention; the server parses the calls out of it.
   */
  tools?: ToolRequest;
}

export type StructuredFormat = { type: 'json_object' } | { type: 'json_schema'; schema: Record<string, unknown> };

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top: { token: string; logprob: number; bytes: number[] }[];
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface EngineUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from the prefix cache. */
  cachedTokens: number;
}

export type EngineEvent =
  /** First event: the prompt was tokenized and admitted. */
  | { type: 'start'; promptTokens: number; cachedTokens: number }
  /** New text (UTF-8 complete; may be empty when a token only completes later). */
  | { type: 'delta'; text: string; tokenIds: number[]; logprobs?: TokenLogprob[] }
  /** Last event, also on abort (the signal fired): usage is exact either way. */
  | { type: 'finish'; reason: FinishReason; usage: EngineUsage };

export interface EngineStats {
  waiting: number;
  running: number;
  maxRunning: number;
  /** Fraction of the KV budget in use, 0..1. */
  kvUsage: number;
  /** Recent generation throughput (all sequences). */
  tokensPerSecond: number;
  promptTokensTotal: number;
  generationTokensTotal: number;
  prefixCacheQueries: number;
  prefixCacheHits: number;
}

export interface Engine {
  info(): EngineInfo;
  /** Load weights and get ready; resolves when `generate` may be called. */
  load(): Promise<void>;
  /**
   * Generate for one request. Errors before the first event are thrown as ApiError
   * (`context_length_exceeded`, `overloaded` with retryAfter, `invalid_request_error`).
   * When `signal` aborts, the sequence leaves the batch within one step and the iterator ends
   * with a `finish` event whose reason is `abort`.
   */
  generate(req: GenerateRequest, signal: AbortSignal): AsyncIterable<EngineEvent>;
  /** Stop admitting; resolve once running requests have finished. */
  drain(): Promise<void>;
  stats(): EngineStats;
  /**
   * False while a loaded engine cannot serve for a while (a supervised server restarting): the
   * replica then reports itself out of rotation. Absent = always serving once loaded.
   */
  healthy?(): boolean;
  /** Free resources (worker threads, buffers). */
  close(): Promise<void>;
}
