/**
 * The soak's traffic: a few clients in a loop until a deadline, each request drawn from a mix of
 * streamed and whole chat and completions, streams cancelled after their first chunk, and bad
 * requests. Every answer is classified; anything other than a served request, an overload
 * refusal (503 + retry-after, 429) or an OpenAI-shaped 4xx for a bad request is unexpected.
 */
import { errorShapeProblem } from './verdict.ts';

export interface MixCounts {
  served: number;
  cancelled: number;
  refused: number;
  badRefused: number;
  unexpected: number;
  /** The first few unexpected answers, for the report. */
  examples: string[];
}

export interface MixTarget {
  edgeUrl: string;
  apiKey: string;
  model: string;
}

type Kind = 'chat-stream' | 'chat' | 'completion-stream' | 'completion' | 'cancel' | 'bad';

const WEIGHTS: [Kind, number][] = [
  ['chat-stream', 30],
  ['chat', 20],
  ['completion-stream', 20],
  ['completion', 10],
  ['cancel', 12],
  ['bad', 8],
];

function pick(): Kind {
  let r = Math.random() * WEIGHTS.reduce((a, [, w]) => a + w, 0);
  for (const [k, w] of WEIGHTS) if ((r -= w) < 0) return k;
  return 'chat';
}

function badRequest(t: MixTarget): { body: string; key: string } {
  const cases = [
    { body: '{"model":', key: t.apiKey },
    { body: JSON.stringify({ model: t.model, messages: [] }), key: t.apiKey },
    { body: JSON.stringify({ model: 'no-such-model', prompt: 'x' }), key: t.apiKey },
    { body: JSON.stringify({ model: t.model, prompt: 'x', max_tokens: -1 }), key: t.apiKey },
    { body: JSON.stringify({ model: t.model, prompt: 'x' }), key: 'sk-motif-not-a-real-key-000000' },
  ];
  return cases[Math.floor(Math.random() * cases.length)]!;
}

async function one(t: MixTarget, counts: MixCounts): Promise<void> {
  const kind = pick();
  const maxTokens = 4 + Math.floor(Math.random() * 20);
  const stream = kind.endsWith('stream') || kind === 'cancel';
  const chat = kind.startsWith('chat') || kind === 'cancel';
  const path = chat ? '/v1/chat/completions' : '/v1/completions';
  const prompt = `soak ${Math.random().toString(36).slice(2, 10)}`;
  const request =
    kind === 'bad'
      ? badRequest(t)
      : {
          body: JSON.stringify(
            chat
              ? { model: t.model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, stream }
              : { model: t.model, prompt, max_tokens: maxTokens, stream },
          ),
          key: t.apiKey,
        };
  const abort = new AbortController();
  const unexpected = (what: string) => {
    counts.unexpected++;
    if (counts.examples.length < 5) counts.examples.push(`${kind}: ${what.slice(0, 300)}`);
  };
  try {
    const res = await fetch(`${t.edgeUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${request.key}`, 'content-type': 'application/json' },
      body: request.body,
      signal: abort.signal,
    });
    if ((res.status === 503 && res.headers.get('retry-after') !== null) || res.status === 429) {
      await res.body?.cancel();
      counts.refused++;
      return;
    }
    if (kind === 'bad') {
      const text = await res.text();
      const problem = res.status >= 400 && res.status < 500 ? errorShapeProblem(res.headers.get('content-type') ?? undefined, text) : `status ${res.status}`;
      if (problem) unexpected(`${res.status} ${problem}`);
      else counts.badRefused++;
      return;
    }
    if (res.status !== 200) return unexpected(`${res.status} ${await res.text()}`);
    if (kind === 'cancel') {
      const reader = res.body!.getReader();
      await reader.read();
      abort.abort();
      await reader.cancel().catch(() => {});
      counts.cancelled++;
      return;
    }
    const text = await res.text();
    if (stream && (!text.trimEnd().endsWith('data: [DONE]') || text.includes('event: error')))
      return unexpected(`stream ended without [DONE]: ${text.slice(-200)}`);
    counts.served++;
  } catch (err) {
    if (kind === 'cancel' && abort.signal.aborted) counts.cancelled++;
    else unexpected(String(err));
  }
}

/** Run `clients` request loops until `untilMs` (epoch ms). */
export async function runMix(t: MixTarget, clients: number, untilMs: number): Promise<MixCounts> {
  const counts: MixCounts = { served: 0, cancelled: 0, refused: 0, badRefused: 0, unexpected: 0, examples: [] };
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < untilMs) await one(t, counts);
    }),
  );
  return counts;
}
