/**
 * OpenAI request bodies → the engine's `GenerateRequest`. Validation uses the shared zod schemas;
 * features the engine cannot honour yet (n > 1, echo, suffix) are refused with
 * a clear 400 rather than silently ignored.
 */
import { ApiError, fromZodError } from '#shared/errors.ts';
import { ChatCompletionRequest, CompletionRequest, messageText, requestedMaxTokens, stopList, toolRequest } from '#shared/openai.ts';
import { parseJson } from '#shared/request-body.ts';
import {
  DEFAULT_SAMPLING,
  type EngineChatMessage,
  type EnginePrompt,
  type GenerateRequest,
  type SamplingParams,
  type StructuredFormat,
} from '../engine/types.ts';

export type Endpoint = 'chat.completions' | 'completions';

export interface MappedRequest {
  endpoint: Endpoint;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  /** Whether the response carries logprobs (chat: `logprobs: true`; completions: `logprobs: n`). */
  logprobs: boolean;
  /** Tools were offered: the answer is parsed for tool calls (and streamed once known). */
  tools: boolean;
  generate: GenerateRequest;
}

/** Parse the signed body bytes as a JSON object (400 otherwise: not JSON, nested too deep, not an object). */
export function parseJsonBody(body: Uint8Array): Record<string, unknown> {
  const value = parseJson(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('invalid_request_error', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** Checks that give a clearer message than the schema would. */
function precheck(raw: Record<string, unknown>): void {
  if (raw.n != null && raw.n !== 1) throw new ApiError('invalid_request_error', 'Only n=1 is supported.', { param: 'n' });
}

/** The request's response_format as the engine takes it (undefined for free text). */
function structuredFormat(req: ChatCompletionRequest | CompletionRequest): StructuredFormat | undefined {
  const rf = req.response_format;
  if (rf === undefined || rf.type === 'text') return undefined;
  if (rf.type === 'json_object') return { type: 'json_object' };
  // No schema: any JSON object, as with json_object.
  return rf.json_schema.schema === undefined ? { type: 'json_object' } : { type: 'json_schema', schema: rf.json_schema.schema };
}

function sampling(req: ChatCompletionRequest | CompletionRequest): SamplingParams {
  const s: SamplingParams = {
    temperature: req.temperature ?? DEFAULT_SAMPLING.temperature,
    topP: req.top_p ?? DEFAULT_SAMPLING.topP,
    topK: req.top_k ?? DEFAULT_SAMPLING.topK,
    minP: req.min_p ?? DEFAULT_SAMPLING.minP,
    presencePenalty: req.presence_penalty ?? DEFAULT_SAMPLING.presencePenalty,
    frequencyPenalty: req.frequency_penalty ?? DEFAULT_SAMPLING.frequencyPenalty,
    repetitionPenalty: req.repetition_penalty ?? DEFAULT_SAMPLING.repetitionPenalty,
  };
  if (req.seed != null) s.seed = req.seed;
  return s;
}

function common(req: ChatCompletionRequest | CompletionRequest, requestId: string, prompt: EnginePrompt): GenerateRequest {
  const g: GenerateRequest = { requestId, prompt, sampling: sampling(req), stop: stopList(req.stop) };
  const max = requestedMaxTokens(req);
  if (max !== undefined) g.maxTokens = max;
  if (req.ignore_eos) g.ignoreEos = true;
  const format = structuredFormat(req);
  if (format) g.responseFormat = format;
  return g;
}

/** A `/v1/chat/completions` body → engine request. */
export function mapChatRequest(raw: Record<string, unknown>, requestId: string): MappedRequest {
  precheck(raw);
  const parsed = ChatCompletionRequest.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error);
  const req = parsed.data;
  if (req.top_logprobs != null && !req.logprobs) {
    throw new ApiError('invalid_request_error', 'top_logprobs requires logprobs to be true.', { param: 'top_logprobs' });
  }
  const messages = req.messages.map((m) => {
    const out: EngineChatMessage = { role: m.role, content: messageText(m) };
    if (m.tool_calls?.length) out.tool_calls = m.tool_calls;
    if (m.tool_call_id !== undefined && m.role === 'tool') out.tool_call_id = m.tool_call_id;
    return out;
  });
  const generate = common(req, requestId, { kind: 'chat', messages });
  const tools = toolRequest(req);
  if (tools) generate.tools = tools;
  if (req.logprobs) generate.topLogprobs = req.top_logprobs ?? 0;
  return {
    endpoint: 'chat.completions',
    model: req.model,
    stream: req.stream === true,
    includeUsage: req.stream_options?.include_usage === true,
    logprobs: req.logprobs === true,
    tools: tools !== undefined,
    generate,
  };
}

/** A `/v1/completions` body → engine request (prompt text, or token ids). */
export function mapCompletionRequest(raw: Record<string, unknown>, requestId: string): MappedRequest {
  precheck(raw);
  const parsed = CompletionRequest.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error);
  const req = parsed.data;
  if (req.echo) throw new ApiError('invalid_request_error', 'echo is not supported yet.', { param: 'echo' });
  if (req.suffix) throw new ApiError('invalid_request_error', 'suffix is not supported by this model.', { param: 'suffix' });
  const p = req.prompt;
  let prompt: EnginePrompt;
  if (typeof p === 'string') prompt = { kind: 'text', text: p };
  else if (typeof p[0] === 'string') prompt = { kind: 'text', text: p[0] };
  else prompt = { kind: 'ids', ids: p as number[] };
  const generate = common(req, requestId, prompt);
  if (req.logprobs != null) generate.topLogprobs = req.logprobs;
  return {
    endpoint: 'completions',
    model: req.model,
    stream: req.stream === true,
    includeUsage: req.stream_options?.include_usage === true,
    logprobs: req.logprobs != null,
    tools: false,
    generate,
  };
}
