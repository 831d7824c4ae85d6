import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { ChatTemplate, noChatTemplateError } from './chat-template.ts';

const config = { bos_token: '<s>', eos_token: { content: '</s>' }, additional_special_tokens: ['<x>'] };

describe('ChatTemplate', () => {
  it('exposes special tokens and add_generation_prompt to the template', () => {
    const t = new ChatTemplate(
      '{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}{{ additional_special_tokens[0] }}',
      config,
    );
    expect(t.render([{ role: 'user', content: 'hi' }])).toBe('<s>[user]hi</s>[assistant]<x>');
    expect(t.render([{ role: 'user', content: 'hi' }], { addGenerationPrompt: false })).toBe('<s>[user]hi</s><x>');
  });

  it('turns raise_exception into a 400 naming messages', () => {
    const t = new ChatTemplate("{% if messages[0].role != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}ok", config);
    expect(t.render([{ role: 'user', content: 'x' }])).toBe('ok');
    try {
      t.render([{ role: 'assistant', content: 'x' }]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).param).toBe('messages');
      expect((err as ApiError).message).toMatch(/first message must be from the user/);
    }
  });

  it('reports a template syntax error per chat request instead of at load', () => {
    const t = new ChatTemplate('{% for m in messages %}', config);
    expect(() => t.render([{ role: 'user', content: 'x' }])).toThrow(/chat template is invalid/);
  });

  it.each([
    {
      name: 'ChatML',
      source:
        '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}',
      want: true,
    },
    {
      name: 'refuses system turns, keeps the rest',
      source: "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system') }}{% endif %}[{{ m.role }}]{{ m.content }}{% endfor %}",
      want: true,
    },
    { name: 'trims contents', source: '{% for m in messages %}[{{ m.role }}]{{ m.content | trim }}{% endfor %}', want: false },
    {
      name: 'strips earlier reasoning',
      source: "{% for m in messages %}{% if m.role == 'assistant' %}{{ m.content.split('</think>')[-1] }}{% else %}{{ m.content }}{% endif %}{% endfor %}",
      want: false,
    },
    { name: 'drops the system turn', source: "{% for m in messages %}{% if m.role != 'system' %}{{ m.content }}{% endif %}{% endfor %}", want: false },
    { name: 'keeps only the last message', source: '{{ messages[-1].content }}', want: false },
    { name: 'refuses every probe', source: "{{ raise_exception('never') }}", want: false },
    { name: 'does not parse', source: '{% for m in messages %}', want: false },
  ])('keepsContents: $name → $want', ({ source, want }) => {
    expect(new ChatTemplate(source, config).keepsContents()).toBe(want);
  });

  it('picks the default of named templates', () => {
    expect(
      ChatTemplate.pick([
        { name: 'tool_use', template: 'a' },
        { name: 'default', template: 'b' },
      ]),
    ).toBe('b');
    expect(ChatTemplate.pick(null)).toBeUndefined();
  });

  it('has a clear error for models without a template', () => {
    const e = noChatTemplateError('tiny');
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/no chat template/);
  });
});
