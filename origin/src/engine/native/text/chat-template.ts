/**
 * Chat prompt rendering: the model's Jinja `chat_template` (tokenizer_config.json) run by
 * @huggingface/jinja with the variables transformers' `apply_chat_template` provides (messages,
 * add_generation_prompt, the special tokens). Template problems are the caller's 400, never a crash.
 */
import { Template } from '@huggingface/jinja';
import { ApiError } from '#shared/errors.ts';
import type { FunctionTool } from '#shared/openai-tools.ts';
import type { EngineChatMessage } from '../../types.ts';
import { type TokenizerConfig, tokenContent } from './tokenizer.ts';
import { plainToolMessages, usesTools } from './tool-prompt.ts';

export type ChatMessageInput = EngineChatMessage;

export interface RenderOptions {
  /** Append the assistant turn opener so the model answers (default true). */
  addGenerationPrompt?: boolean;
  /** Functions offered to the model. */
  tools?: readonly FunctionTool[];
}

// A template that names `tools` renders them (and calls in the history) itself, as transformers'
// apply_chat_template lets it; any other gets them in the convention of tool-prompt.ts.
const RENDERS_TOOLS = /\btools\b/;

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'pad_token', 'unk_token', 'sep_token', 'cls_token', 'mask_token'] as const;

// Contents that carry what templates are known to rewrite: surrounding whitespace (`| trim`),
// reasoning blocks of earlier assistant turns (stripped by some), a system turn (merged into the
// first user turn by some, refused by others).
const PROBE_USER = ' \n probe-user-1 <think>q</think>\t ';
const PROBES: readonly (readonly ChatMessageInput[])[] = [
  [
    { role: 'system', content: '\n\n probe-system  ' },
    { role: 'user', content: PROBE_USER },
    { role: 'assistant', content: ' <think>probe-reasoning</think>\n probe-answer \n' },
    { role: 'user', content: '  probe-user-2\n\n' },
  ],
  [
    { role: 'user', content: PROBE_USER },
    { role: 'assistant', content: '\t<think>\nprobe-reasoning\n</think>probe-answer ' },
    { role: 'user', content: '\nprobe-user-2 ' },
  ],
];

/** A parsed chat template bound to a tokenizer's special tokens. */
export class ChatTemplate {
  private readonly template: Template | undefined;
  private readonly parseError: string | undefined;
  private readonly specials: Record<string, unknown>;
  private keeps: boolean | undefined;
  private readonly rendersTools: boolean;

  /**
   * Parse `source` once. A syntax error does not throw here (completions must keep working); it
   * is reported on every chat render instead.
   */
  constructor(source: string, config: TokenizerConfig) {
    let template: Template | undefined;
    let parseError: string | undefined;
    try {
      template = new Template(source);
    } catch (err) {
      parseError = (err as Error).message;
    }
    this.template = template;
    this.parseError = parseError;
    this.rendersTools = RENDERS_TOOLS.test(source);
    const specials: Record<string, unknown> = {};
    for (const key of SPECIAL_KEYS) {
      const c = tokenContent(config[key]);
      if (c !== undefined) specials[key] = c;
    }
    specials.additional_special_tokens = (config.additional_special_tokens ?? []).map((t) => (typeof t === 'string' ? t : t.content));
    this.specials = specials;
  }

  /** The template text from a config's `chat_template` (a string, or named templates: `default`). */
  static pick(value: TokenizerConfig['chat_template']): string | undefined {
    if (value == null) return undefined;
    if (typeof value === 'string') return value;
    return (value.find((t) => t.name === 'default') ?? value[0])?.template;
  }

  /**
   * Whether rendering keeps every message's content whole and in order, so a rendered chat is at
   * least as long as its contents together: what lets a chat be refused by its contents' size.
   * Judged once on probe conversations; a probe the template refuses is skipped (such chats fail
   * anyway), but at least one must render, and every one that renders must keep each content.
   */
  keepsContents(): boolean {
    this.keeps ??= this.probeKeepsContents();
    return this.keeps;
  }

  private probeKeepsContents(): boolean {
    let rendered = 0;
    for (const messages of PROBES) {
      let out: string;
      try {
        out = this.render(messages, { addGenerationPrompt: true });
      } catch {
        continue;
      }
      rendered++;
      let from = 0;
      for (const m of messages) {
        const at = out.indexOf(m.content, from);
        if (at < 0) return false;
        from = at + m.content.length;
      }
    }
    return rendered > 0;
  }

  private variables(messages: readonly ChatMessageInput[], tools: readonly FunctionTool[] | undefined): Record<string, unknown> {
    if (!usesTools(messages, tools)) return { messages: messages.map((m) => ({ role: m.role, content: m.content })) };
    if (!this.rendersTools) return { messages: plainToolMessages(messages, tools) };
    // Templates read a call's arguments as a mapping (`| tojson`), as transformers passes them.
    const native = messages.map((m) => ({
      role: m.role,
      content: m.content,
      ...(m.tool_calls?.length
        ? {
            tool_calls: m.tool_calls.map((c) => ({
              id: c.id,
              type: c.type,
              function: { name: c.function.name, arguments: parseArguments(c.function.arguments) },
            })),
          }
        : {}),
      ...(m.tool_call_id !== undefined ? { tool_call_id: m.tool_call_id } : {}),
    }));
    return tools?.length ? { messages: native, tools } : { messages: native };
  }

  /** Render `messages` to the prompt string; ApiError 400 when the template rejects them. */
  render(messages: readonly ChatMessageInput[], opts: RenderOptions = {}): string {
    if (!this.template) {
      throw new ApiError('invalid_request_error', `The model's chat template is invalid: ${this.parseError ?? 'unknown error'}`);
    }
    try {
      const out = this.template.render({
        ...this.specials,
        ...this.variables(messages, opts.tools),
        add_generation_prompt: opts.addGenerationPrompt ?? true,
      });
      if (typeof out !== 'string') throw new Error('template did not produce text');
      return out;
    } catch (err) {
      // raise_exception(...) in templates (e.g. "roles must alternate") lands here too.
      throw new ApiError('invalid_request_error', `Chat template error: ${(err as Error).message}`, { param: 'messages', cause: err });
    }
  }
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The error for chat requests against a model that has no template (completions still work). */
export function noChatTemplateError(model: string): ApiError {
  return new ApiError('invalid_request_error', `Model '${model}' has no chat template; use /v1/completions with a plain prompt instead.`, {
    param: 'messages',
  });
}
