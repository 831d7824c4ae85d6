/**
 * Function tools in the OpenAI chat format: the request schemas (`tools`, `tool_choice`, assistant
 * `tool_calls` in the history) and the JSON schema a forced tool call must follow. Pure, shared by
 * the edge (refuses what the origin would, before routing) and the origin (builds the constraint
 * from the same schema), so both agree on what a valid call is.
 */
import { z } from 'zod';
import { compileJsonSchema, jsonDepth, SCHEMA_DEPTH, UnsupportedSchemaError } from './json-schema-subset.ts';

/** Counts a tools request may carry (OpenAI documents 128 tools). */
export const TOOL_LIMITS = {
  tools: 128,
  /** Calls in one assistant message of the history. */
  toolCalls: 128,
  /** Calls one forced answer may make when `parallel_tool_calls` is on. */
  parallelCalls: 8,
  descriptionLength: 8192,
} as const;

/** OpenAI's function-name rule. */
export const FunctionName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be 1..64 characters of a-z A-Z 0-9 _ -');

export const ParametersSchema = z.record(z.string(), z.unknown()).refine((s) => jsonDepth(s) <= SCHEMA_DEPTH, {
  message: `the schema is nested more than ${SCHEMA_DEPTH} levels deep.`,
});

export const FunctionTool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: FunctionName,
    description: z.string().max(TOOL_LIMITS.descriptionLength).optional(),
    parameters: ParametersSchema.optional(),
    strict: z.boolean().nullable().optional(),
  }),
});
export type FunctionTool = z.infer<typeof FunctionTool>;

export const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: FunctionName }) }),
]);
export type ToolChoice = z.infer<typeof ToolChoice>;

/** A call in an assistant message of the history; `arguments` is a JSON text, as OpenAI sends it. */
export const AssistantToolCall = z.object({
  id: z.string().min(1).max(256),
  type: z.literal('function'),
  function: z.object({ name: FunctionName, arguments: z.string() }),
});
export type AssistantToolCall = z.infer<typeof AssistantToolCall>;

/** A streamed piece of a tool call: the first of each call has its id, type and name. */
export const ToolCallDelta = z.object({
  index: z.number().int().min(0),
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().optional(), arguments: z.string().optional() }),
});

/** What the engine is asked to do with tools (`tool_choice: none` and no tools = absent). */
export interface ToolRequest {
  tools: FunctionTool[];
  /** `auto`: the model chooses; `required`: at least one call; a name: exactly that function. */
  choice: 'auto' | 'required' | { name: string };
  /** Several calls in one answer allowed. */
  parallel: boolean;
}

/** A function's parameters as a schema (absent = no arguments: `{}`). */
export function parametersSchema(tool: FunctionTool): Record<string, unknown> {
  return tool.function.parameters ?? { type: 'object', properties: {}, additionalProperties: false };
}

const callObject = (name: Record<string, unknown>, args: Record<string, unknown>) => ({
  type: 'object',
  properties: { name, arguments: args },
  required: ['name', 'arguments'],
  additionalProperties: false,
});
const callSchema = (tool: FunctionTool) => callObject({ const: tool.function.name }, parametersSchema(tool));

/**
 * The JSON schema a forced answer follows: one `{"name","arguments"}` object (a named function, or
 * `required` without parallel calls), or a list of 1..parallelCalls of them. Undefined when the
 * model chooses (`auto`). `$defs` of each function's parameters are hoisted under a prefix so
 * their `$ref`s keep resolving.
 */
export function forcedToolSchema(req: ToolRequest): Record<string, unknown> | undefined {
  if (req.choice === 'auto') return undefined;
  const choice = req.choice;
  const tools = typeof choice === 'object' ? req.tools.filter((t) => t.function.name === choice.name) : req.tools;
  const defs: Record<string, unknown> = {};
  const options = tools.map((tool) => callSchema(hoistDefs(tool, defs)));
  const one = options.length === 1 ? options[0]! : { anyOf: options };
  const body = typeof choice === 'object' || !req.parallel ? one : { type: 'array', items: one, minItems: 1, maxItems: TOOL_LIMITS.parallelCalls };
  return withDefs(body, defs);
}

/**
 * The JSON schema of the call inside each `<tool_call>` block the model writes under `auto` when
 * some function is `strict`: one `{"name","arguments"}` object of any offered function, a strict
 * one's arguments following its parameters and the others' any object (a block naming no offered
 * function would be left as text, which a strict request should not get by a typo). Undefined
 * when no function is strict or the choice forces a call (`forcedToolSchema`). The non-strict
 * functions share one branch (`name` an enum): the decoder keeps at most 64 branches open, so a
 * branch per function would drop calls of the later ones.
 */
export function autoCallSchema(req: ToolRequest): Record<string, unknown> | undefined {
  if (req.choice !== 'auto' || !req.tools.some((t) => t.function.strict === true)) return undefined;
  const defs: Record<string, unknown> = {};
  const options: Record<string, unknown>[] = req.tools.filter((t) => t.function.strict === true).map((tool) => callSchema(hoistDefs(tool, defs)));
  // The other functions share one option, so many of them stay within the schema size limits.
  const loose = req.tools.filter((t) => t.function.strict !== true).map((t) => t.function.name);
  if (loose.length > 0) options.push(callObject({ enum: loose }, { type: 'object' }));
  return withDefs(options.length === 1 ? options[0]! : { anyOf: options }, defs);
}

const withDefs = (body: Record<string, unknown>, defs: Record<string, unknown>) => (Object.keys(defs).length > 0 ? { ...body, $defs: defs } : body);

// A function's `#/$defs/x` becomes `#/$defs/<name>.x` in the combined schema.
function hoistDefs(tool: FunctionTool, into: Record<string, unknown>): FunctionTool {
  const params = parametersSchema(tool);
  const local = { ...((params.$defs as Record<string, unknown>) ?? {}), ...((params.definitions as Record<string, unknown>) ?? {}) };
  if (Object.keys(local).length === 0) return tool;
  const prefix = `${tool.function.name}.`;
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (typeof v !== 'object' || v === null) return v;
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) =>
        k === '$ref' && typeof x === 'string' ? [k, x.replace(/^#\/(\$defs|definitions)\//, `#/$defs/${prefix}`)] : [k, rewrite(x)],
      ),
    );
  };
  for (const [name, def] of Object.entries(local)) into[`${prefix}${name}`] = rewrite(def);
  const { $defs: _d, definitions: _x, ...rest } = params;
  return { ...tool, function: { ...tool.function, parameters: rewrite(rest) as Record<string, unknown> } };
}

/**
 * Why a tools request cannot be served, as [message, param] (undefined when it can): a forced or
 * `strict` function's parameters must compile in the structured-output subset, and a named
 * choice must name a declared function.
 */
export function toolRequestProblem(req: ToolRequest): [string, string] | undefined {
  const choice = req.choice;
  if (typeof choice === 'object' && !req.tools.some((t) => t.function.name === choice.name)) {
    return [`tool_choice names '${choice.name}', which is not among the tools.`, 'tool_choice'];
  }
  const names = new Set<string>();
  for (const [i, tool] of req.tools.entries()) {
    if (names.has(tool.function.name)) return [`two tools are named '${tool.function.name}'.`, `tools.${i}.function.name`];
    names.add(tool.function.name);
    const constrained = tool.function.strict === true || choice === 'required' || (typeof choice === 'object' && choice.name === tool.function.name);
    if (!constrained) continue;
    try {
      compileJsonSchema(parametersSchema(tool));
    } catch (err) {
      if (err instanceof UnsupportedSchemaError) return [err.message, `tools.${i}.function.parameters`];
      throw err;
    }
  }
  const combined = forcedToolSchema(req) ?? autoCallSchema(req);
  if (combined === undefined) return undefined;
  try {
    compileJsonSchema(combined);
  } catch (err) {
    if (err instanceof UnsupportedSchemaError) return [`the tools together are too large to constrain: ${err.message}`, 'tools'];
    throw err;
  }
  return undefined;
}

/** The tool fields of a chat request, as the schema parsed them. */
interface ToolFields {
  messages: { role: string; tool_calls?: AssistantToolCall[] | null | undefined; tool_call_id?: string | undefined }[];
  tools?: FunctionTool[] | null | undefined;
  tool_choice?: ToolChoice | null | undefined;
  parallel_tool_calls?: boolean | null | undefined;
  response_format?: { type: string } | undefined;
  logprobs?: boolean | null | undefined;
}

/** The request's tools as the engine takes them; undefined without tools or with `tool_choice: none`. */
export function toolRequest(req: Pick<ToolFields, 'tools' | 'tool_choice' | 'parallel_tool_calls'>): ToolRequest | undefined {
  const tools = req.tools ?? [];
  const choice = req.tool_choice ?? 'auto';
  if (tools.length === 0 || choice === 'none') return undefined;
  return { tools, choice: typeof choice === 'object' ? { name: choice.function.name } : choice, parallel: req.parallel_tool_calls !== false };
}

/** What is wrong with a chat request's tool fields, each with its path (the request schema's refinement). */
export function toolIssues(req: ToolFields): { message: string; path: (string | number)[] }[] {
  const issues: { message: string; path: (string | number)[] }[] = [];
  for (const [i, m] of req.messages.entries()) {
    if (m.tool_calls?.length && m.role !== 'assistant')
      issues.push({ message: 'only assistant messages carry tool_calls.', path: ['messages', i, 'tool_calls'] });
    if (m.role === 'tool' && m.tool_call_id === undefined)
      issues.push({ message: "a 'tool' message needs its tool_call_id.", path: ['messages', i, 'tool_call_id'] });
  }
  const choice = req.tool_choice;
  if ((req.tools ?? []).length === 0 && choice != null && choice !== 'none' && choice !== 'auto') {
    issues.push({ message: `tool_choice ${JSON.stringify(choice)} needs tools.`, path: ['tool_choice'] });
  }
  const tr = toolRequest(req);
  if (!tr) return issues;
  if (req.response_format !== undefined && req.response_format.type !== 'text') {
    issues.push({ message: 'response_format and tools cannot constrain the same answer; send one of them (or tool_choice none).', path: ['response_format'] });
  }
  if (req.logprobs) issues.push({ message: 'logprobs are not supported together with tools yet.', path: ['logprobs'] });
  const problem = toolRequestProblem(tr);
  if (problem) issues.push({ message: problem[0], path: problem[1].split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)) });
  return issues;
}
