/**
 * The Responses API request (`POST /v1/responses`) for the subset that maps onto one chat
 * generation, and its translation to a chat completions request. Like the chat schema, every
 * parameter that would change the output is either translated or refused with a 400 naming it;
 * the rest are accepted and echoed. With a response store (stored.ts) responses are kept unless
 * `store` is false, and `previous_response_id` continues from one; without one, `store: true` and
 * `previous_response_id` are refused, and an agent loop sends its history as `input` each turn.
 * Function tools map onto chat tools (tools.ts), input items onto chat messages (input.ts).
 */
import { z } from 'zod';
import { type ChatCompletionRequest, type ChatMessage, JsonSchemaSpec, LIMITS } from '#shared/openai.ts';
import { toolIssues } from '#shared/openai-tools.ts';
import { chatMessages, InputItem, inputIssues } from './input.ts';
import { chatTool, chatToolChoice, ResponsesToolChoice, ResponsesTools, responsesToolParam } from './tools.ts';

/** Refused unless absent, null or one of the values that leave the output as it is. */
const refused = (name: string, harmless: (v: unknown) => boolean = () => false) =>
  z
    .unknown()
    .refine((v) => v === undefined || v === null || harmless(v), { message: `'${name}' is not supported by this server on /v1/responses.` })
    .optional()
    .describe('Not supported: must be absent, null or a value that does not change the output (anything else is refused with a 400 naming it).');
const emptyList = (v: unknown) => Array.isArray(v) && v.length === 0;

export const TextFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  JsonSchemaSpec.extend({ type: z.literal('json_schema') }),
]);
export type TextFormat = z.infer<typeof TextFormat>;

export const ResponsesRequest = z
  .object({
    model: z.string().min(1),
    // One message fewer than chat allows: `instructions` take the first.
    input: z.union([
      z.string(),
      z
        .array(InputItem)
        .min(1)
        .max(LIMITS.messages - 1),
    ]),
    instructions: z.string().nullable().optional(),
    max_output_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().gt(0).max(1).nullable().optional(),
    /** An extension (chat's `seed`): the Responses API has none. */
    seed: z.number().int().nullable().optional(),
    text: z
      .object({ format: TextFormat.optional(), verbosity: refused('text.verbosity') })
      .nullable()
      .optional(),
    stream: z.boolean().nullable().optional(),
    metadata: z
      .record(z.string().max(64), z.string().max(512))
      .refine((m) => Object.keys(m).length <= LIMITS.metadataKeys, { message: `at most ${LIMITS.metadataKeys} keys.` })
      .nullable()
      .optional(),
    user: z.string().max(256).optional(),
    store: z.boolean().nullable().optional(),
    previous_response_id: z.string().min(1).max(256).nullable().optional(),
    tools: ResponsesTools.nullable().optional(),
    tool_choice: ResponsesToolChoice.nullable().optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    max_tool_calls: refused('max_tool_calls'),
    conversation: refused('conversation'),
    prompt: refused('prompt'),
    reasoning: refused('reasoning'),
    include: refused('include', emptyList),
    truncation: refused('truncation', (v) => v === 'disabled'),
    background: refused('background', (v) => v === false),
    top_logprobs: refused('top_logprobs', (v) => v === 0),
    context_management: refused('context_management', emptyList),
    moderation: refused('moderation'),
    // Accepted and not acted on: none of these changes the generated text.
    stream_options: z.object({ include_obfuscation: z.boolean().optional() }).nullable().optional(),
    service_tier: z.string().max(32).nullable().optional(),
    prompt_cache_key: z.string().max(1024).nullable().optional(),
    prompt_cache_retention: z.string().max(32).nullable().optional(),
    prompt_cache_options: z.record(z.string(), z.unknown()).nullable().optional(),
    safety_identifier: z.string().max(256).nullable().optional(),
  })
  .superRefine((req, ctx) => {
    // A previous response may hold the calls this input answers: checked once it is loaded.
    const checkAnswers = req.previous_response_id == null;
    if (Array.isArray(req.input)) for (const issue of inputIssues(req.input, checkAnswers)) ctx.addIssue({ code: 'custom', ...issue });
    // The chat path's tool checks (a named choice among the tools, schemas a forced call can
    // follow, no response_format alongside), on the chat request this one becomes.
    // A message's index differs between the two (instructions, calls joined): `input` it is.
    for (const issue of toolIssues(toChatRequest(req))) {
      const param = issue.path[0] === 'messages' ? 'input' : (responsesParam(issue.path.join('.')) ?? '');
      const path = param.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      ctx.addIssue({ code: 'custom', message: issue.message.replaceAll('response_format', 'text.format'), path });
    }
  });
export type ResponsesRequest = z.infer<typeof ResponsesRequest>;

/** Chat's `response_format` for a `text.format`; plain text needs none. */
function responseFormat(format: TextFormat | undefined): ChatCompletionRequest['response_format'] {
  if (format === undefined || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  const { type: _type, ...spec } = format;
  return { type: 'json_schema', json_schema: spec };
}

/**
 * The chat completions request that generates the answer to `req`: `instructions` become a
 * system message ahead of the input (after `history`, the items of a previous response's chain), `max_output_tokens` becomes `max_tokens`, `text.format`
 * becomes `response_format`, function tools and `tool_choice` become chat's. A stream always asks
 * for usage: the final event carries it.
 */
export function toChatRequest(req: ResponsesRequest, history: readonly InputItem[] = []): ChatCompletionRequest {
  const messages: ChatMessage[] = [];
  if (req.instructions != null) messages.push({ role: 'system', content: req.instructions });
  messages.push(...chatMessages([...history, ...inputItems(req)]));
  const chat: ChatCompletionRequest = { model: req.model, messages };
  if (req.max_output_tokens != null) chat.max_tokens = req.max_output_tokens;
  if (req.temperature != null) chat.temperature = req.temperature;
  if (req.top_p != null) chat.top_p = req.top_p;
  if (req.seed != null) chat.seed = req.seed;
  if (req.user !== undefined) chat.user = req.user;
  if (req.tools?.length) chat.tools = req.tools.map(chatTool);
  if (req.tool_choice != null) chat.tool_choice = chatToolChoice(req.tool_choice);
  if (req.parallel_tool_calls != null) chat.parallel_tool_calls = req.parallel_tool_calls;
  const format = responseFormat(req.text?.format);
  if (format) chat.response_format = format;
  if (req.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return chat;
}

/** The request's input as items (a string is one user message). */
export function inputItems(req: Pick<ResponsesRequest, 'input'>): InputItem[] {
  return typeof req.input === 'string' ? [{ role: 'user', content: req.input }] : req.input;
}

/** Chat parameter names → the Responses API's, longest prefix first. */
const PARAM_NAMES: [string, string][] = [
  ['response_format.json_schema', 'text.format'],
  ['response_format', 'text.format'],
  ['max_completion_tokens', 'max_output_tokens'],
  ['max_tokens', 'max_output_tokens'],
  ['messages', 'input'],
];

/**
 * The Responses API's name for a chat parameter an error names (a prompt too long is `messages`
 * on the chat path, `input` here), so errors name what the client sent.
 */
export function responsesParam(chatParam: string | null): string | null {
  if (chatParam === null) return null;
  if (chatParam.startsWith('tools.')) return responsesToolParam(chatParam);
  for (const [chat, responses] of PARAM_NAMES) {
    if (chatParam === chat || chatParam.startsWith(`${chat}.`)) return responses + chatParam.slice(chat.length);
  }
  return chatParam;
}
