/** The text `npm start` prints once the stack is ready: where it is and how to call it. */
import type { Stack } from './stack.ts';

export function banner(stack: Stack, edgeKind: 'node' | 'worker'): string {
  const base = `${stack.edgeUrl}/v1`;
  return `
motif-edge is up (edge on ${edgeKind === 'worker' ? 'workerd (wrangler dev)' : 'Node'}, origin with the native engine, embedded S3)

  base URL   ${base}
  API key    ${stack.apiKey}
  model      ${stack.model}

Try it (streams tokens):

  curl -N ${base}/chat/completions \\
    -H "Authorization: Bearer ${stack.apiKey}" -H "Content-Type: application/json" \\
    -d '{"model":"${stack.model}","stream":true,"max_tokens":32,"messages":[{"role":"user","content":"Hello!"}]}'

Or with the official openai SDK (npm i openai):

  import OpenAI from 'openai';
  const client = new OpenAI({ baseURL: '${base}', apiKey: '${stack.apiKey}' });
  const stream = await client.chat.completions.create({
    model: '${stack.model}', stream: true, max_tokens: 32,
    messages: [{ role: 'user', content: 'Hello!' }],
  });
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');

The model is a tiny random-weight Motif (real architecture, gibberish output) unless
MOTIF_MODEL_DIR points at real weights. Ctrl-C stops everything.
`;
}
