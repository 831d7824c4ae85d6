/**
 * Tools in a chat prompt for templates that do not render them (no `tools` variable): the
 * Hermes/Qwen-style convention Motif's prompts follow (engine/native/README.md, "Tools"). The
 * function list goes into the system turn as a `<tools>` block with the calling instructions;
 * an assistant turn's calls become `<tool_call>{"name","arguments"}</tool_call>` lines after its
 * text; a `tool` turn becomes a user turn wrapping the result in `<tool_response>` tags. Pure.
 */
import type { FunctionTool } from '#shared/openai-tools.ts';
import type { EngineChatMessage } from '../../types.ts';

/** A chat turn as templates see it (the plain shape every template renders). */
export interface PlainMessage {
  role: string;
  content: string;
}

/** The system-prompt block that lists `tools` and says how to call them. */
export function toolsBlock(tools: readonly FunctionTool[]): string {
  const list = tools.map((t) => JSON.stringify(t)).join('\n');
  return [
    '# Tools',
    '',
    'You may call one or more functions to assist with the user query. The functions, one JSON signature per line:',
    '<tools>',
    list,
    '</tools>',
    '',
    'To call a function, answer with a JSON object holding its name and arguments inside <tool_call></tool_call> tags, one block per call:',
    '<tool_call>',
    '{"name": <function-name>, "arguments": <arguments-json-object>}',
    '</tool_call>',
  ].join('\n');
}

/** `{"name","arguments"}` of one call, its arguments as JSON (kept as text when they do not parse). */
export function callText(call: NonNullable<EngineChatMessage['tool_calls']>[number]): string {
  let args: unknown = call.function.arguments;
  try {
    args = JSON.parse(call.function.arguments);
  } catch {
    // The client's own text: render it as given rather than refuse the history.
  }
  return JSON.stringify({ name: call.function.name, arguments: args });
}

/** Whether the chat needs the convention: tools offered, or calls and results in the history. */
export function usesTools(messages: readonly EngineChatMessage[], tools: readonly FunctionTool[] | undefined): boolean {
  return (tools?.length ?? 0) > 0 || messages.some((m) => m.role === 'tool' || (m.tool_calls?.length ?? 0) > 0);
}

/** `messages` (and `tools`) rewritten into plain turns in the convention. */
export function plainToolMessages(messages: readonly EngineChatMessage[], tools: readonly FunctionTool[] | undefined): PlainMessage[] {
  const out: PlainMessage[] = messages.map((m) => {
    if (m.role === 'tool') return { role: 'user', content: `<tool_response>\n${m.content}\n</tool_response>` };
    const calls = (m.tool_calls ?? []).map((c) => `<tool_call>\n${callText(c)}\n</tool_call>`);
    if (calls.length === 0) return { role: m.role, content: m.content };
    return { role: m.role, content: [m.content, ...calls].filter((p) => p !== '').join('\n') };
  });
  if (!tools?.length) return out;
  const block = toolsBlock(tools);
  const first = out[0];
  if (first && (first.role === 'system' || first.role === 'developer')) out[0] = { role: first.role, content: `${first.content}\n\n${block}` };
  else out.unshift({ role: 'system', content: block });
  return out;
}
