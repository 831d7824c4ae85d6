/**
 * The items of a Responses `input` list and their translation to chat messages. Besides message
 * items, the agent loop sends back what the model called and what the client's functions
 * returned: `function_call` items become an assistant message's `tool_calls` (joined onto the
 * assistant message just before them, as one chat turn held both), `function_call_output` items a
 * `tool` message answering the call by its `call_id`. A client can send a response's `output`
 * back as input unchanged: ids and statuses of items are accepted and not needed.
 */
import { z } from 'zod';
import { type ChatMessage, LIMITS } from '#shared/openai.ts';
import { type AssistantToolCall, FunctionName, TOOL_LIMITS } from '#shared/openai-tools.ts';
import { unsupportedType } from './unsupported-type.ts';

const InputTextPart = z.object({ type: z.enum(['input_text', 'output_text']), text: z.string() });
const ItemMeta = {
  id: z.string().max(256).nullable().optional(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).nullable().optional(),
};
const CallId = z.string().min(1).max(256);

/** A message item (`type` may be left out, as the SDK's easy input messages do). */
export const InputMessage = z.object({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'system', 'developer', 'assistant']),
  content: z.union([z.string(), z.array(InputTextPart).max(LIMITS.contentParts)]),
  ...ItemMeta,
});
export type InputMessage = z.infer<typeof InputMessage>;

/** A call the model made, sent back so the next turn sees it. */
export const FunctionCallItem = z.object({ type: z.literal('function_call'), call_id: CallId, name: FunctionName, arguments: z.string(), ...ItemMeta });

/** What the client's function returned for the call `call_id`: text (images and files are refused). */
export const FunctionCallOutputItem = z.object({
  type: z.literal('function_call_output'),
  call_id: CallId,
  output: z.union([
    z.string(),
    z
      .array(
        z.discriminatedUnion('type', [z.object({ type: z.literal('input_text'), text: z.string() })], {
          error: unsupportedType('output parts', "'input_text'"),
        }),
      )
      .max(LIMITS.contentParts),
  ]),
  ...ItemMeta,
});

export const InputItem = z.discriminatedUnion('type', [InputMessage, FunctionCallItem, FunctionCallOutputItem], {
  error: unsupportedType('input items', "'message', 'function_call' and 'function_call_output'"),
});
export type InputItem = z.infer<typeof InputItem>;

const textParts = (parts: { text: string }[]) => parts.map((p) => ({ type: 'text' as const, text: p.text }));

/** The chat messages for `items`, in order. */
export function chatMessages(items: readonly InputItem[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const item of items) {
    if (item.type === 'function_call') {
      const call: AssistantToolCall = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } };
      const last = out.at(-1);
      if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), call];
      else out.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (item.type === 'function_call_output') {
      out.push({ role: 'tool', tool_call_id: item.call_id, content: typeof item.output === 'string' ? item.output : textParts(item.output) });
    } else {
      out.push({ role: item.role, content: typeof item.content === 'string' ? item.content : textParts(item.content) });
    }
  }
  return out;
}

/**
 * What is wrong with an input list beyond each item's shape, each with its path: an output must
 * answer a call sent before it (unless `checkAnswers` is false: the calls of a previous response,
 * loaded later, may be the ones it answers), and one turn holds at most the chat path's count of
 * calls.
 */
export function inputIssues(items: readonly InputItem[], checkAnswers = true): { message: string; path: (string | number)[] }[] {
  const issues: { message: string; path: (string | number)[] }[] = [];
  const called = new Set<string>();
  let run = 0;
  for (const [i, item] of items.entries()) {
    if (item.type === 'function_call') {
      called.add(item.call_id);
      if (++run > TOOL_LIMITS.toolCalls) issues.push({ message: `at most ${TOOL_LIMITS.toolCalls} function calls in one turn.`, path: ['input', i] });
      continue;
    }
    run = 0;
    if (checkAnswers && item.type === 'function_call_output' && !called.has(item.call_id)) {
      issues.push({ message: `no function_call with call_id '${item.call_id}' comes before this output in input.`, path: ['input', i, 'call_id'] });
    }
  }
  return issues;
}
