import { describe, expect, it } from 'vitest';
import type { Usage } from '#shared/openai.ts';
import { readSse } from '#shared/sse.ts';
import { type RelayOutcome, relaySse } from './sse-relay.ts';

const enc = new TextEncoder();
const content = (s: string) => `data: {"choices":[{"index":0,"delta":{"content":"${s}"}}]}\n\n`;
const usageOnly = 'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n';
const usageOnContent = 'data: {"choices":[{"index":0,"delta":{"content":"z"}}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n';

/** An origin body from text pieces; `fail` errors the stream after them. */
function body(pieces: string[], fail = false): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < pieces.length) c.enqueue(enc.encode(pieces[i++]!));
      else if (fail) c.error(new Error('reset'));
      else c.close();
    },
  });
}

async function run(pieces: string[], clientWantsUsage: boolean, fail = false) {
  const usage: Usage[] = [];
  const outcomes: RelayOutcome[] = [];
  const out = relaySse(body(pieces, fail), { clientWantsUsage, onUsage: (u) => usage.push(u), onEnd: (o) => outcomes.push(o), abortOrigin: () => {} });
  const events = [];
  for await (const ev of readSse(out)) events.push(ev);
  return { events, usage, outcomes };
}

describe('relaySse', () => {
  it.each([
    { name: 'usage chunk dropped when not asked', pieces: [content('a'), usageOnly, 'data: [DONE]\n\n'], wants: false, datas: ['a', '[DONE]'] },
    { name: 'usage chunk kept when asked', pieces: [content('a'), usageOnly, 'data: [DONE]\n\n'], wants: true, datas: ['a', 'usage', '[DONE]'] },
    { name: 'usage on a content chunk: content kept, usage hidden', pieces: [usageOnContent, 'data: [DONE]\n\n'], wants: false, datas: ['z', '[DONE]'] },
    {
      name: 'frames split across network chunks',
      pieces: [content('a').slice(0, 7), content('a').slice(7) + usageOnly.slice(0, 20), usageOnly.slice(20), 'data: [DO', 'NE]\n\n'],
      wants: false,
      datas: ['a', '[DONE]'],
    },
  ])('$name', async ({ pieces, wants, datas }) => {
    const { events, usage, outcomes } = await run(pieces, wants);
    expect(
      events.map((e) =>
        e.data === '[DONE]'
          ? '[DONE]'
          : e.data.includes('"usage":{')
            ? 'usage'
            : (JSON.parse(e.data) as { choices: { delta: { content: string } }[] }).choices[0]!.delta.content,
      ),
    ).toEqual(datas);
    expect(usage).toEqual([{ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }]);
    expect(outcomes).toEqual(['done']);
  });

  it.each([
    { name: 'origin connection reset', pieces: [content('a')], fail: true, outcome: 'origin-error' },
    { name: 'origin ended without [DONE]', pieces: [content('a')], fail: false, outcome: 'truncated' },
  ])('$name → error event, no [DONE]', async ({ pieces, fail, outcome }) => {
    const { events, outcomes } = await run(pieces, false, fail);
    expect(events.map((e) => e.event)).toEqual([undefined, 'error']);
    expect(JSON.parse(events[1]!.data)).toMatchObject({ error: { code: 'origin_error', type: 'server_error' } });
    expect(outcomes).toEqual([outcome]);
  });

  it('passes an origin error event through and stops there', async () => {
    const err = 'event: error\ndata: {"error":{"message":"engine died","type":"server_error","param":null,"code":"engine_unavailable"}}\n\n';
    const { events, outcomes } = await run([content('a'), err, content('never')], false);
    expect(events.map((e) => e.event)).toEqual([undefined, 'error']);
    expect(events[1]!.data).toContain('engine_unavailable');
    expect(outcomes).toEqual(['origin-error']);
  });

  it('does not read ahead of the client', async () => {
    let pulls = 0;
    const origin = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          pulls++;
          c.enqueue(enc.encode(content(String(pulls))));
        },
      },
      { highWaterMark: 0 },
    );
    const reader = relaySse(origin, { clientWantsUsage: false, onUsage: () => {}, onEnd: () => {}, abortOrigin: () => {} }).getReader();
    await reader.read();
    await reader.read();
    expect(pulls).toBe(2);
    await reader.cancel();
  });
});
