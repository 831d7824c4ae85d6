/**
 * The same stack with the edge running as a Worker in workerd (`wrangler dev --local`), Durable
 * Objects for keys, pool and ledger: the official SDK streams a chat completion through it.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminFlow } from '../helpers/admin-cli.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
let client: OpenAI;
beforeAll(async () => {
  stack = await startTestStack({ edge: 'worker' });
  client = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.dispose();
});

it('streams a chat completion through workerd, with usage when asked', async () => {
  const stream = await client.chat.completions.create({
    model: stack.model,
    stream: true,
    max_tokens: 8,
    temperature: 0,
    messages: [{ role: 'user', content: 'Hello from the Worker' }],
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage: OpenAI.CompletionUsage | undefined | null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    usage = chunk.usage ?? usage;
  }
  expect(usage?.completion_tokens).toBeGreaterThan(0);
  const same = await client.chat.completions.create({
    model: stack.model,
    max_tokens: 8,
    temperature: 0,
    messages: [{ role: 'user', content: 'Hello from the Worker' }],
  });
  expect(same.choices[0]?.message.content).toBe(text);
});

it('rejects an unknown key with OpenAI error JSON', async () => {
  const bad = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: 'sk-not-a-real-key-123456', maxRetries: 0 });
  await expect(bad.chat.completions.create({ model: stack.model, messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 401 });
});

it('the admin flow through the CLI on the Worker: tenant → key → call → rotate with overlap → revoke → 401, usage views', async () => {
  // One local isolate revokes and serves, so revocation is immediate here; across isolates the
  // key cache bounds it at 10 s (README).
  await adminFlow(stack.edgeUrl, stack.adminToken, 'worker-co');
}, 90_000);
