/**
 * Failure after the first byte: killing the origin mid-stream must reach the client as an SSE
 * `error` event (never a clean-looking end with [DONE]), and the edge must serve again once the
 * origin is back.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SseParser } from '#shared/sse.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.dispose();
});

function chat(maxTokens: number, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${stack.edgeUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: stack.model, stream: true, max_tokens: maxTokens, messages: [{ role: 'user', content: 'Tell me a long story.' }], ...extra }),
  });
}

it('kill -9 of the origin mid-stream → SSE error event, no [DONE]; edge recovers', async () => {
  const res = await chat(1500, { ignore_eos: true });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const parser = new SseParser();
  const dec = new TextDecoder();
  const events: { event: string | undefined; data: string }[] = [];
  let killed = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    events.push(...parser.push(dec.decode(value, { stream: true })));
    if (!killed && events.some((e) => e.data.includes('"content"'))) {
      killed = true;
      stack.origin.child.kill('SIGKILL');
    }
  }
  expect(killed).toBe(true);
  expect(events.some((e) => e.data === '[DONE]')).toBe(false);
  const err = events.find((e) => e.event === 'error');
  expect(err, 'an SSE error event').toBeDefined();
  expect(JSON.parse(err!.data).error.type).toBe('server_error');

  // While the origin is down: a clear 503, not a hang or a 500.
  await stack.origin.exited;
  await new Promise((r) => setTimeout(r, 3500)); // heartbeat TTL
  const down = await chat(2);
  expect(down.status).toBe(503);
  expect(down.headers.get('retry-after')).not.toBeNull();

  await stack.restartOrigin();
  const again = await chat(4);
  expect(again.status).toBe(200);
  const text = await again.text();
  expect(text).toContain('data: [DONE]');
});
