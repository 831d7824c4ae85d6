/**
 * Function tools in the Responses API's shape and their translation to chat tools. A Responses
 * function tool is flat (`{type, name, description, parameters, strict}`) where chat nests it
 * under `function`; `tool_choice` names a function as `{type: "function", name}`. Only function
 * tools exist here: hosted tools (web search, file search, computer use, MCP, …) need a server
 * that runs them and are refused with a 400 naming their type.
 */
import { z } from 'zod';
import { compileJsonSchema, UnsupportedSchemaError } from '#shared/json-schema-subset.ts';
import { FunctionName, type FunctionTool, ParametersSchema, parametersSchema, TOOL_LIMITS, type ToolChoice } from '#shared/openai-tools.ts';
import { typeName, unsupportedType } from './unsupported-type.ts';

export const ResponsesFunctionTool = z.object({
  type: z.literal('function'),
  name: FunctionName,
  description: z.string().max(TOOL_LIMITS.descriptionLength).nullable().optional(),
  parameters: ParametersSchema.nullable().optional(),
  /** Absent: strict when the schema is in the structured-output subset, as OpenAI does (`effectiveStrict`). */
  strict: z.boolean().nullable().optional(),
  // Tool search is not offered: every function is in the prompt from the start.
  defer_loading: z.literal(false, { message: "'defer_loading' is not supported by this server: every function is offered up front." }).optional(),
  // Neither changes what is generated: no programmatic callers exist here, and the output schema
  // describes what the client's function returns.
  allowed_callers: z.array(z.string().max(32)).max(4).nullable().optional(),
  output_schema: ParametersSchema.nullable().optional(),
});
export type ResponsesFunctionTool = z.infer<typeof ResponsesFunctionTool>;

export const ResponsesTools = z
  .array(z.discriminatedUnion('type', [ResponsesFunctionTool], { error: unsupportedType('tools', "'function' tools") }))
  .max(TOOL_LIMITS.tools);

const ChoiceOfFunction = z.object({ type: z.literal('function'), name: FunctionName });

export const ResponsesToolChoice = z.union([z.enum(['none', 'auto', 'required']), ChoiceOfFunction], {
  error: (iss) =>
    iss.code === 'invalid_union'
      ? `tool_choice must be 'none', 'auto', 'required' or {"type": "function", "name": …}; ${typeName(iss.input)} choices are not supported by this server.`
      : undefined,
});
export type ResponsesToolChoice = z.infer<typeof ResponsesToolChoice>;

/** The tool as chat has it, `strict` as given. */
function asChatTool(tool: ResponsesFunctionTool): FunctionTool {
  const fn: FunctionTool['function'] = { name: tool.name };
  if (tool.description != null) fn.description = tool.description;
  if (tool.parameters != null) fn.parameters = tool.parameters;
  if (tool.strict != null) fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

/**
 * Whether the function's arguments are constrained: `strict` when given; absent, when its
 * schema is in the structured-output subset (OpenAI: strict when the schema is compatible, else
 * not), so a schema the grammar cannot follow still works, unconstrained.
 */
export function effectiveStrict(tool: ResponsesFunctionTool): boolean {
  if (tool.strict != null) return tool.strict;
  // Asked for the same parsed tool by the validation, the chat translation and every echo of the
  // response object: compiled once.
  let strict = compiledStrict.get(tool);
  if (strict === undefined) {
    strict = compiles(tool);
    compiledStrict.set(tool, strict);
  }
  return strict;
}

const compiledStrict = new WeakMap<ResponsesFunctionTool, boolean>();

function compiles(tool: ResponsesFunctionTool): boolean {
  try {
    compileJsonSchema(parametersSchema(asChatTool(tool)));
    return true;
  } catch (err) {
    if (err instanceof UnsupportedSchemaError) return false;
    throw err;
  }
}

/** A Responses function tool as the chat request carries it. */
export function chatTool(tool: ResponsesFunctionTool): FunctionTool {
  const chat = asChatTool(tool);
  chat.function.strict = effectiveStrict(tool);
  return chat;
}

/** A Responses `tool_choice` as chat's. */
export function chatToolChoice(choice: ResponsesToolChoice): ToolChoice {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

/** A tool as the response object echoes it (the SDK's `FunctionTool`: every field present). */
export function echoedTool(tool: ResponsesFunctionTool) {
  return {
    type: 'function' as const,
    name: tool.name,
    description: tool.description ?? null,
    parameters: tool.parameters ?? null,
    strict: effectiveStrict(tool),
  };
}

/** Chat paths of the tool fields → the Responses request's (`tools.0.function.parameters` → `tools.0.parameters`). */
export function responsesToolParam(chatParam: string): string {
  return chatParam.replace(/^tools\.(\d+)\.function\./, 'tools.$1.');
}
