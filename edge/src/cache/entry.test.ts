import { describe, expect, it } from 'vitest';
import { SseParser } from '#shared/sse.ts';
import { entryFromJson, replayJson, replaySse, streamCollector } from './entry.ts';

const usage = { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 };
const who = { id: 'req-9', created: 1_700_000_000 };
const lp = (token: string) => ({ token, logprob: -0.5, bytes: null, top_logprobs: [] });

const frames = (list: Uint8Array[]) => {
  const p = new SseParser();
  return list.flatMap((f) => p.push(new TextDecoder().decode(f))).map((e) => (e.data === '[DONE]' ? '[DONE]' : JSON.parse(e.data)));
};

describe('entries from answers', () => {
  it.each([
    [
      'chat',
      'chat.completions' as const,
      { model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ab' }, logprobs: null, finish_reason: 'stop' }], usage },
    ],
    ['completions', 'completions' as const, { model: 'm', choices: [{ index: 0, text: 'ab', logprobs: null, finish_reason: 'length' }], usage }],
  ])('%s JSON round-trips through replayJson', (_name, endpoint, body) => {
    const e = entryFromJson(endpoint, body, 'rev-1')!;
    expect(e).toMatchObject({ revision: 'rev-1', finish_reason: body.choices[0]!.finish_reason, usage });
    const again = replayJson(e, who);
    expect(again).toMatchObject({ ...body, created: who.created });
    expect(String(again.id)).toContain('req-9');
  });

  it.each([
    ['no usage', { model: 'm', choices: [{ index: 0, text: 'a', finish_reason: 'stop' }] }],
    [
      'two choices',
      {
        model: 'm',
        choices: [
          { index: 0, text: 'a' },
          { index: 1, text: 'b' },
        ],
        usage,
      },
    ],
    ['an error body', { error: { message: 'x' } }],
  ])('%s: not an entry', (_name, body) => {
    expect(entryFromJson('completions', body, 'r')).toBeUndefined();
  });
});

describe('entries from streams', () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, logprobs: unknown = null) => ({
    id: 'x',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta, logprobs, finish_reason: finish }],
  });

  it('collects pieces with their logprobs and replays them as the same chunks, or joined as JSON', () => {
    const c = streamCollector('chat.completions');
    c.chunk(chunk({ role: 'assistant', content: '' }));
    c.chunk(chunk({ content: 'a' }, null, { content: [lp('a')] }));
    c.chunk(chunk({ content: 'b' }, null, { content: [lp('b')] }));
    c.chunk(chunk({}, 'stop'));
    c.chunk({ ...chunk({}), choices: [], usage });
    const e = c.complete('rev-1')!;
    expect(e.pieces).toEqual([
      { text: 'a', logprobs: { content: [lp('a')] } },
      { text: 'b', logprobs: { content: [lp('b')] } },
    ]);
    const sse = frames(replaySse(e, who, true));
    expect(sse.map((f) => (f === '[DONE]' ? f : { choices: f.choices, usage: f.usage ?? null }))).toEqual([
      { choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], usage: null },
      { choices: [{ index: 0, delta: { content: 'a' }, logprobs: { content: [lp('a')] }, finish_reason: null }], usage: null },
      { choices: [{ index: 0, delta: { content: 'b' }, logprobs: { content: [lp('b')] }, finish_reason: null }], usage: null },
      { choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null },
      { choices: [], usage },
      '[DONE]',
    ]);
    expect(frames(replaySse(e, who, false)).some((f) => f !== '[DONE]' && f.usage)).toBe(false);
    expect(replayJson(e, who)).toMatchObject({
      choices: [{ message: { content: 'ab' }, logprobs: { content: [lp('a'), lp('b')] }, finish_reason: 'stop' }],
      usage,
    });
  });

  it('completions logprobs are joined field by field', () => {
    const c = streamCollector('completions');
    const piece = (text: string, off: number) => ({
      object: 'text_completion',
      model: 'm',
      choices: [{ index: 0, text, logprobs: { tokens: [text], token_logprobs: [-1], top_logprobs: [null], text_offset: [off] }, finish_reason: null }],
    });
    c.chunk(piece('a', 0));
    c.chunk(piece('b', 1));
    c.chunk({ object: 'text_completion', model: 'm', choices: [{ index: 0, text: '', logprobs: null, finish_reason: 'length' }], usage });
    const json = replayJson(c.complete('r')!, who) as { choices: { text: string; logprobs: unknown }[] };
    expect(json.choices[0]).toMatchObject({
      text: 'ab',
      logprobs: { tokens: ['a', 'b'], token_logprobs: [-1, -1], top_logprobs: [null, null], text_offset: [0, 1] },
    });
  });

  it('a stream without usage is not an entry', () => {
    const c = streamCollector('chat.completions');
    c.chunk(chunk({ content: 'a' }, 'stop'));
    expect(c.complete('r')).toBeUndefined();
  });
});
