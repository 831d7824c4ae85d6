/**
 * Tool calls parsed back out of an answer's text, in the convention every engine answers in
 * (engine/native/README.md, "Tools"): a forced answer is a bare call object `{"name","arguments"}`
 * or a list of them; a free (`auto`) answer may hold `<tool_call>{…}</tool_call>` blocks among its
 * text. A call is kept only when it names an offered function and its arguments are a JSON
 * object; anything else stays text, so a malformed call is never half-reported.
 */
import type { AssistantToolCall, ToolRequest } from '#shared/openai-tools.ts';

/** The functions a request offered: their names, and whether at most one call may be made (`parallel_tool_calls: false`). */
export interface ToolOffer {
  names: ReadonlySet<string>;
  single: boolean;
}

/** The offer of a request's tools. */
export function toolOffer(req: ToolRequest): ToolOffer {
  return { names: new Set(req.tools.map((t) => t.function.name)), single: !req.parallel };
}

/** Whether `found` calls may join `made` ones: with a single call allowed, only a first lone call. */
export function mayCall(offer: ToolOffer, made: number, found: readonly unknown[]): boolean {
  return !offer.single || (made === 0 && found.length === 1);
}

export interface ParsedAnswer {
  /** Text outside the calls (null when there is none). */
  content: string | null;
  calls: AssistantToolCall[];
}

export const TOOL_CALL_OPEN = '<tool_call>';
export const TOOL_CALL_CLOSE = '</tool_call>';

/** A fresh OpenAI-style call id (`call_` and 24 hex digits). */
export function newCallId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `call_${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function asCall(value: unknown, names: ReadonlySet<string>, id: () => string): AssistantToolCall | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const args = v.arguments ?? v.parameters ?? {};
  if (typeof v.name !== 'string' || !names.has(v.name)) return undefined;
  // Some models write the arguments as a JSON text already; it must still be an object.
  const parsed = typeof args === 'string' ? parseOrUndefined(args) : args;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return { id: id(), type: 'function', function: { name: v.name, arguments: JSON.stringify(parsed) } };
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** All of `values` as calls, or undefined when one is not a call. */
function allCalls(values: unknown[], names: ReadonlySet<string>, id: () => string): AssistantToolCall[] | undefined {
  const calls: AssistantToolCall[] = [];
  for (const v of values) {
    const call = asCall(v, names, id);
    if (!call) return undefined;
    calls.push(call);
  }
  return calls.length > 0 ? calls : undefined;
}

/** The calls written inside one `<tool_call>` block, or undefined when it holds anything else. */
export function callsInBlock(inner: string, names: ReadonlySet<string>, id: () => string = newCallId): AssistantToolCall[] | undefined {
  const value = parseOrUndefined(inner.trim());
  return value === undefined ? undefined : allCalls(Array.isArray(value) ? value : [value], names, id);
}

/**
 * Split `text` into content and the calls of the offered functions. `id` numbers the calls (a
 * fresh random id by default). When the offer allows a single call, calls beyond the first stay
 * text.
 */
export function parseToolCalls(text: string, offer: ToolOffer, id: () => string = newCallId): ParsedAnswer {
  const names = offer.names;
  const trimmed = text.trim();
  const whole = trimmed.startsWith('{') || trimmed.startsWith('[') ? parseOrUndefined(trimmed) : undefined;
  if (whole !== undefined) {
    const calls = allCalls(Array.isArray(whole) ? whole : [whole], names, id);
    if (calls && mayCall(offer, 0, calls)) return { content: null, calls };
  }
  const calls: AssistantToolCall[] = [];
  let content = '';
  let from = 0;
  for (let at = text.indexOf(TOOL_CALL_OPEN, from); at >= 0; at = text.indexOf(TOOL_CALL_OPEN, from)) {
    const end = text.indexOf(TOOL_CALL_CLOSE, at + TOOL_CALL_OPEN.length);
    const found = callsInBlock(text.slice(at + TOOL_CALL_OPEN.length, end < 0 ? undefined : end), names, id);
    const next = end < 0 ? text.length : end + TOOL_CALL_CLOSE.length;
    if (found && mayCall(offer, calls.length, found)) {
      calls.push(...found);
      content += text.slice(from, at);
    } else content += text.slice(from, next);
    from = next;
  }
  content += text.slice(from);
  if (calls.length === 0) return { content: text, calls };
  const rest = content.trim();
  return { content: rest === '' ? null : rest, calls };
}
