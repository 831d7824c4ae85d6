import { describe, expect, it } from 'vitest';
import type { FunctionTool } from '#shared/openai-tools.ts';
import type { EngineChatMessage } from '../../types.ts';
import { ChatTemplate } from './chat-template.ts';
import { toolsBlock } from './tool-prompt.ts';

// The tiny model's ChatML stand-in (no `tools` variable) and a Hermes/Qwen-style template that renders tools itself.
const CHATML =
  "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
const TOOLS_AWARE =
  '{%- if tools %}<tools>{% for t in tools %}{{ t.function.name }};{% endfor %}</tools>{% endif %}' +
  '{%- for m in messages %}[{{ m.role }}]{{ m.content }}{% if m.tool_calls %}{% for c in m.tool_calls %}<call {{ c.function.name }} {{ c.function.arguments | tojson }}>{% endfor %}{% endif %}{% if m.tool_call_id %}#{{ m.tool_call_id }}{% endif %}{% endfor %}';
const config = { eos_token: '<|im_end|>' };

const tool: FunctionTool = { type: 'function', function: { name: 'get_time', description: 'Now.', parameters: { type: 'object', properties: {} } } };
const call = { id: 'call_1', type: 'function' as const, function: { name: 'get_time', arguments: '{"tz":"UTC"}' } };
const history: EngineChatMessage[] = [
  { role: 'user', content: 'time?' },
  { role: 'assistant', content: '', tool_calls: [call] },
  { role: 'tool', content: '12:00', tool_call_id: 'call_1' },
];

describe('tools in the chat prompt', () => {
  it.each<[string, EngineChatMessage[], FunctionTool[] | undefined, string]>([
    ['no tools: the template renders as before', [{ role: 'user', content: 'hi' }], undefined, '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n'],
    [
      'tools without a system turn: a system turn with the block first',
      [{ role: 'user', content: 'hi' }],
      [tool],
      `<|im_start|>system\n${toolsBlock([tool])}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n`,
    ],
    [
      'tools with a system turn: the block after its text',
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
      [tool],
      `<|im_start|>system\nBe brief.\n\n${toolsBlock([tool])}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n`,
    ],
    [
      'calls and results in the history, in the convention',
      history,
      undefined,
      '<|im_start|>user\ntime?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{"name":"get_time","arguments":{"tz":"UTC"}}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\n12:00\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    ],
  ])('ChatML stand-in — %s', (_name, messages, tools, expected) => {
    expect(new ChatTemplate(CHATML, config).render(messages, { ...(tools ? { tools } : {}) })).toBe(expected);
  });

  it('a template that names tools gets them, with calls as mappings and the result ids', () => {
    const out = new ChatTemplate(TOOLS_AWARE, config).render(history, { tools: [tool] });
    expect(out).toBe('<tools>get_time;</tools>[user]time?[assistant]<call get_time {"tz": "UTC"}>[tool]12:00#call_1');
  });

  it('the block lists each function as one JSON line and states the call format', () => {
    const block = toolsBlock([tool]);
    expect(block).toContain(`<tools>\n${JSON.stringify(tool)}\n</tools>`);
    expect(block).toContain('<tool_call>\n{"name": <function-name>, "arguments": <arguments-json-object>}\n</tool_call>');
  });
});
