/**
 * OpenAI-compatible public API schemas (the single source for validation, types and OpenAPI).
 * Requests: unknown fields are dropped (the SDK may send extras; the edge forwards the normalised
 * body), values we act on are checked strictly. Every parameter of OpenAI's API is named here:
 * implemented, refused with a 400 naming it (`notYet`), or accepted because it does not change the
 * generated text (openai.test.ts holds the list). Responses are typed so edge and origin agree.
 */
import { z } from 'zod';
import { jsonDepth, SCHEMA_DEPTH, unsupportedSchemaReason } from './json-schema-subset.ts';
import { AssistantToolCall, FunctionTool, TOOL_LIMITS, ToolCallDelta, ToolChoice, toolIssues } from './openai-tools.ts';

export { toolRequest } from './openai-tools.ts';

export { jsonDepth };

/**
 * Explicit bounds (OpenAI's where it documents them). The body limit already bounds sizes; these
 * bound counts, so a request cannot make the edge or the origin loop over millions of tiny items.
 */
export const LIMITS = {
  messages: 2048,
  contentParts: 256,
  stopStrings: 4,
  stopLength: 256,
  nameLength: 64,
  /** `response_format.json_schema.schema`: levels of objects and arrays (the schema itself is 1). */
  schemaDepth: SCHEMA_DEPTH,
  metadataKeys: 16,
  tools: TOOL_LIMITS.tools,
  toolCalls: TOOL_LIMITS.toolCalls,
} as const;

/**
 * A parameter that would change the output but is not implemented yet: absent, null or empty is
 * fine; anything else is refused with a 400 naming it (dropping it silently would return an
 * answer to a different question).
 */
const notYet = (name: string, empty: (v: unknown) => boolean = () => false) =>
  z
    .unknown()
    .refine((v) => v === undefined || v === null || empty(v), { message: `'${name}' is not supported by this server yet.` })
    .optional()
    .describe('Not supported yet: must be absent, null or empty (anything else is refused with a 400 naming it).');
const emptyList = (v: unknown) => Array.isArray(v) && v.length === 0;
const emptyMap = (v: unknown) => typeof v === 'object' && v !== null && Object.keys(v).length === 0;

const TextPart = z.object({ type: z.literal('text'), text: z.string() });

export const ChatMessage = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  // Content is a string or an array of text parts (images are not supported by a text model).
  content: z
    .union([z.string(), z.array(TextPart).max(LIMITS.contentParts)])
    .nullable()
    .optional(),
  // OpenAI's pattern: no whitespace and none of < | \ / >, which chat templates use as delimiters.
  name: z
    .string()
    .min(1)
    .max(LIMITS.nameLength)
    .regex(/^[^\s<|\\/>]+$/, 'must be 1..64 characters without whitespace or any of < | \\ / >')
    .optional(),
  /** An assistant turn's calls (then `content` may be null); answered by `tool` messages. */
  tool_calls: z.array(AssistantToolCall).max(LIMITS.toolCalls).nullable().optional(),
  function_call: notYet('function_call'),
  audio: notYet('audio'),
  tool_call_id: z.string().max(256).optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

const StopString = z.string().max(LIMITS.stopLength);
const Stop = z
  .union([StopString, z.array(StopString).max(LIMITS.stopStrings)])
  .nullable()
  .optional();

// Depth first: the subset compiler recurses, and only over a schema this shallow.
const JsonSchemaBody = z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
  if (jsonDepth(schema) > LIMITS.schemaDepth) {
    ctx.addIssue({ code: 'custom', message: `the schema is nested more than ${LIMITS.schemaDepth} levels deep.` });
    return;
  }
  const reason = unsupportedSchemaReason(schema);
  if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
});

/** A named JSON Schema to constrain output to (chat's `json_schema`, the Responses API's `text.format`). */
export const JsonSchemaSpec = z.object({
  name: z
    .string()
    .max(LIMITS.nameLength)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be 1..64 characters of a-z A-Z 0-9 _ -'),
  description: z.string().optional(),
  schema: JsonSchemaBody.optional(),
  strict: z.boolean().nullable().optional(),
});

export const ResponseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({ type: z.literal('json_schema'), json_schema: JsonSchemaSpec }),
]);

/** Sampling and limits shared by chat and completions. */
const GenerationParams = {
  model: z.string().min(1),
  max_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  top_k: z.number().int().min(0).nullable().optional(),
  min_p: z.number().min(0).max(1).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: Stop,
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  repetition_penalty: z.number().gt(0).max(10).nullable().optional(),
  n: z.literal(1).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  user: z.string().max(256).optional(),
  response_format: ResponseFormat.optional(),
  /** vLLM-compatible extension: keep generating past end-of-sequence tokens (benchmarks, tests). */
  ignore_eos: z.boolean().nullable().optional(),
  logit_bias: notYet('logit_bias', emptyMap),
  prediction: notYet('prediction'),
};

export const ChatCompletionRequest = z
  .object({
    ...GenerationParams,
    messages: z.array(ChatMessage).min(1).max(LIMITS.messages),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    tools: z.array(FunctionTool).max(LIMITS.tools).nullable().optional(),
    tool_choice: ToolChoice.nullable().optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    functions: notYet('functions', emptyList),
    function_call: notYet('function_call', (v) => v === 'none'),
    audio: notYet('audio'),
    modalities: notYet('modalities', (v) => Array.isArray(v) && v.every((m) => m === 'text')),
    reasoning_effort: notYet('reasoning_effort'),
    verbosity: notYet('verbosity'),
    web_search_options: notYet('web_search_options'),
    // Accepted and not acted on: none of these changes the generated text.
    metadata: z
      .record(z.string().max(64), z.string().max(512))
      .refine((m) => Object.keys(m).length <= LIMITS.metadataKeys, { message: `at most ${LIMITS.metadataKeys} keys.` })
      .nullable()
      .optional(),
    store: z.boolean().nullable().optional(),
    service_tier: z.string().max(32).nullable().optional(),
    prompt_cache_key: z.string().max(1024).optional(),
    safety_identifier: z.string().max(256).optional(),
  })
  .superRefine((req, ctx) => {
    for (const issue of toolIssues(req)) ctx.addIssue({ code: 'custom', ...issue });
  });
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

export const CompletionRequest = z.object({
  ...GenerationParams,
  // A string, or token ids (one prompt only: n=1 and no batch of prompts).
  prompt: z.union([z.string(), z.array(z.number().int().min(0)).min(1), z.tuple([z.string()])]),
  logprobs: z.number().int().min(0).max(5).nullable().optional(),
  echo: z.boolean().nullable().optional(),
  suffix: z.string().nullable().optional(),
  best_of: notYet('best_of', (v) => v === 1),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

export const Usage = z.object({
  prompt_tokens: z.number().int().min(0),
  completion_tokens: z.number().int().min(0),
  total_tokens: z.number().int().min(0),
  prompt_tokens_details: z.object({ cached_tokens: z.number().int().min(0) }).optional(),
});
export type Usage = z.infer<typeof Usage>;

export const FinishReason = z.enum(['stop', 'length', 'content_filter', 'tool_calls']).nullable();
export type FinishReason = z.infer<typeof FinishReason>;

const TopLogprob = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number()).nullable() });
export const ChatLogprobs = z.object({
  content: z.array(TopLogprob.extend({ top_logprobs: z.array(TopLogprob) })).nullable(),
});

export const ChatCompletion = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.string().optional(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({
        role: z.literal('assistant'),
        content: z.string().nullable(),
        refusal: z.null().optional(),
        tool_calls: z.array(AssistantToolCall).optional(),
      }),
      logprobs: ChatLogprobs.nullable(),
      finish_reason: FinishReason,
    }),
  ),
  usage: Usage,
});
export type ChatCompletion = z.infer<typeof ChatCompletion>;

export const ChatCompletionChunk = z.object({
  id: z.string(),
  object: z.literal('chat.completion.chunk'),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.string().optional(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      delta: z.object({
        role: z.literal('assistant').optional(),
        content: z.string().optional(),
        tool_calls: z.array(ToolCallDelta).optional(),
      }),
      logprobs: ChatLogprobs.nullable().optional(),
      finish_reason: FinishReason,
    }),
  ),
  usage: Usage.nullable().optional(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunk>;

export const CompletionLogprobs = z.object({
  tokens: z.array(z.string()),
  token_logprobs: z.array(z.number().nullable()),
  top_logprobs: z.array(z.record(z.string(), z.number()).nullable()),
  text_offset: z.array(z.number().int()),
});

export const Completion = z.object({
  id: z.string(),
  object: z.literal('text_completion'),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.string().optional(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      text: z.string(),
      logprobs: CompletionLogprobs.nullable(),
      finish_reason: FinishReason,
    }),
  ),
  usage: Usage.nullable().optional(),
});
export type Completion = z.infer<typeof Completion>;

export const Model = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().int(),
  owned_by: z.string(),
});
export type Model = z.infer<typeof Model>;

export const ModelList = z.object({ object: z.literal('list'), data: z.array(Model) });
export type ModelList = z.infer<typeof ModelList>;

/** The token budget a request asks for (`max_completion_tokens` wins over `max_tokens`). */
export function requestedMaxTokens(req: ChatCompletionRequest | CompletionRequest): number | undefined {
  const completion = 'messages' in req ? req.max_completion_tokens : undefined;
  return completion ?? req.max_tokens ?? undefined;
}

/** `stop` normalised to a list. */
export function stopList(stop: ChatCompletionRequest['stop']): string[] {
  if (stop == null) return [];
  return (Array.isArray(stop) ? stop : [stop]).filter((s) => s.length > 0);
}

/** Message content as plain text (arrays of text parts are concatenated). */
export function messageText(m: ChatMessage): string {
  if (m.content == null) return '';
  return typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('');
}
