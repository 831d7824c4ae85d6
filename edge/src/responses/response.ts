/**
 * The Responses API response object, built from a chat completion: the assistant's text as one
 * message item with one `output_text` part, each tool call as a `function_call` item after it,
 * usage renamed (`input_tokens`, `output_tokens`), and the request's parameters echoed as OpenAI
 * does. A generation cut by its token budget is `incomplete` with
 * `incomplete_details.reason: "max_output_tokens"`.
 */
import { z } from 'zod';
import type { ChatCompletion, FinishReason, Usage } from '#shared/openai.ts';
import type { AssistantToolCall } from '#shared/openai-tools.ts';
import { type ResponsesRequest, TextFormat } from './request.ts';
import { echoedTool, ResponsesToolChoice } from './tools.ts';

export const ResponseUsage = z.object({
  input_tokens: z.number().int().min(0),
  input_tokens_details: z.object({ cached_tokens: z.number().int().min(0) }),
  output_tokens: z.number().int().min(0),
  output_tokens_details: z.object({ reasoning_tokens: z.number().int().min(0) }),
  total_tokens: z.number().int().min(0),
});
export type ResponseUsage = z.infer<typeof ResponseUsage>;

export const OutputText = z.object({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.unknown()) });
export type OutputText = z.infer<typeof OutputText>;

const ItemStatus = z.enum(['in_progress', 'completed', 'incomplete']);

export const OutputMessage = z.object({
  type: z.literal('message'),
  id: z.string(),
  status: ItemStatus,
  role: z.literal('assistant'),
  content: z.array(OutputText),
});
export type OutputMessage = z.infer<typeof OutputMessage>;

/** A call the model made: `call_id` is what the client's `function_call_output` answers. */
export const OutputFunctionCall = z.object({
  type: z.literal('function_call'),
  id: z.string(),
  call_id: z.string(),
  name: z.string(),
  /** The arguments as a JSON text, as the function's parameters describe them. */
  arguments: z.string(),
  status: ItemStatus,
});
export type OutputFunctionCall = z.infer<typeof OutputFunctionCall>;

export const OutputItem = z.discriminatedUnion('type', [OutputMessage, OutputFunctionCall]);
export type OutputItem = z.infer<typeof OutputItem>;

const EchoedTool = z.object({
  type: z.literal('function'),
  name: z.string(),
  description: z.string().nullable(),
  parameters: z.record(z.string(), z.unknown()).nullable(),
  strict: z.boolean().nullable(),
});

export const ResponseObject = z.object({
  id: z.string(),
  object: z.literal('response'),
  created_at: z.number().int(),
  status: z.enum(['in_progress', 'completed', 'incomplete', 'failed']),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  incomplete_details: z.object({ reason: z.enum(['max_output_tokens', 'content_filter']) }).nullable(),
  model: z.string(),
  output: z.array(OutputItem),
  /** The output's text joined (the SDK computes the same when it is absent). */
  output_text: z.string(),
  usage: ResponseUsage.nullable(),
  instructions: z.string().nullable(),
  max_output_tokens: z.number().int().nullable(),
  metadata: z.record(z.string(), z.string()),
  temperature: z.number(),
  top_p: z.number(),
  text: z.object({ format: TextFormat }),
  tools: z.array(EchoedTool),
  tool_choice: ResponsesToolChoice,
  parallel_tool_calls: z.boolean(),
  truncation: z.literal('disabled'),
  store: z.boolean(),
  background: z.literal(false),
  previous_response_id: z.string().nullable(),
  reasoning: z.null(),
  service_tier: z.string(),
  user: z.string().optional(),
});
export type ResponseObject = z.infer<typeof ResponseObject>;

/** What identifies one response: its ids and creation time (unix seconds), and whether it is stored. */
export interface ResponseIds {
  id: string;
  messageId: string;
  createdAt: number;
  stored?: boolean;
}

/** The id of the function call item at `index` among a response's calls. */
export const functionCallItemId = (ids: ResponseIds, index: number) => `fc_${ids.id.replace(/^resp_/, '')}_${index}`;

/** A function call item for a chat tool call. */
export function functionCallItem(call: AssistantToolCall, id: string, status: OutputFunctionCall['status']): OutputFunctionCall {
  return { type: 'function_call', id, call_id: call.id, name: call.function.name, arguments: call.function.arguments, status };
}

/** The text of the output's messages, joined (what the SDK's `output_text` is). */
export function outputTextOf(output: readonly OutputItem[]): string {
  return output.flatMap((item) => (item.type === 'message' ? item.content.map((p) => p.text) : [])).join('');
}

/** Usage in the Responses API's names. */
export function responseUsage(u: Usage): ResponseUsage {
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.total_tokens,
  };
}

/** The response's and its message's status for how generation finished. */
export function finishStatus(finish: FinishReason): Pick<ResponseObject, 'status' | 'incomplete_details'> {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** An `output_text` content part (this server adds no annotations). */
export const outputText = (text: string): OutputText => ({ type: 'output_text', text, annotations: [] });

/**
 * A response object with `output` and `usage` still to be filled in: what `response.created`
 * carries, and what every other state starts from.
 */
export function responseShell(req: ResponsesRequest, ids: ResponseIds, model: string): ResponseObject {
  const shell: ResponseObject = {
    id: ids.id,
    object: 'response',
    created_at: ids.createdAt,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    model,
    output: [],
    output_text: '',
    usage: null,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    metadata: req.metadata ?? {},
    temperature: req.temperature ?? 1,
    top_p: req.top_p ?? 1,
    text: { format: req.text?.format ?? { type: 'text' } },
    tools: (req.tools ?? []).map(echoedTool),
    tool_choice: req.tool_choice ?? 'auto',
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    truncation: 'disabled',
    store: ids.stored === true,
    background: false,
    previous_response_id: req.previous_response_id ?? null,
    reasoning: null,
    service_tier: 'default',
  };
  if (req.user !== undefined) shell.user = req.user;
  return shell;
}

/**
 * The finished response object for a non-streamed chat completion: the text as a message (also
 * when there is none and no call either, so the output is never empty), then the calls.
 */
export function toResponseObject(chat: ChatCompletion, req: ResponsesRequest, ids: ResponseIds): ResponseObject {
  const choice = chat.choices[0];
  const text = choice?.message.content ?? '';
  const calls = choice?.message.tool_calls ?? [];
  const finished = finishStatus(choice?.finish_reason ?? null);
  const status = finished.status === 'completed' ? 'completed' : 'incomplete';
  const output: OutputItem[] = [];
  if (text !== '' || calls.length === 0) output.push({ type: 'message', id: ids.messageId, status, role: 'assistant', content: [outputText(text)] });
  calls.forEach((call, i) => {
    output.push(functionCallItem(call, functionCallItemId(ids, i), status));
  });
  return { ...responseShell(req, ids, chat.model), ...finished, output, output_text: outputTextOf(output), usage: responseUsage(chat.usage) };
}
