/**
 * The real origin process on the tiny golden Motif checkpoint (MOTIF_ORIGIN_MODEL_DIR, native engine),
 * with a signed-verifying stand-in for the edge's internal endpoints: a signed chat completion
 * streams the golden greedy continuation, the heartbeat and the usage record reach the "edge",
 * and SIGTERM drains, says `draining` and exits cleanly.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Heartbeat, INTERNAL_PATHS } from '#shared/protocol.ts';
import { readSse } from '#shared/sse.ts';
import { UsageBatch } from '#shared/usage.ts';
import { type SignedReceiver, signedPost, startSignedReceiver, TEST_NODE_KEY, TEST_NODE_RING } from '../../origin/src/adapters/node/test-support.ts';
import { freePort, type ManagedProcess, spawnTsx, waitForHttp } from '../../scripts/stack/processes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/tiny-motif');
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as {
  chat: { messages: { role: string; content: string }[]; ids: number[]; greedy_new_ids: number[]; greedy_new_text: string };
};
const key = { kid: 'k1', secret: 'integration-secret-0123456789' };

let edge: SignedReceiver;
let origin: ManagedProcess;
let url: string;
let dataDir: string;
const logs: string[] = [];

const post = (path: string, body: unknown, requestId: string) => signedPost(url, path, body, { key, requestId });

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!cond()) throw new Error(`timed out waiting for ${what}\n${logs.join('\n')}`);
}

const heartbeats = () => edge.received.filter((r) => r.path === INTERNAL_PATHS.heartbeat).map((r) => Heartbeat.parse(r.body));
const usage = () => edge.received.filter((r) => r.path === INTERNAL_PATHS.usage).flatMap((r) => UsageBatch.parse(r.body).records);

beforeAll(async () => {
  edge = await startSignedReceiver(TEST_NODE_RING);
  dataDir = mkdtempSync(join(tmpdir(), 'motif-origin-int-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  origin = spawnTsx({
    name: 'origin',
    file: 'origin/src/main.ts',
    log: (l) => logs.push(l),
    env: {
      ...process.env,
      MOTIF_ORIGIN_HOST: '127.0.0.1',
      MOTIF_ORIGIN_PORT: String(port),
      MOTIF_REPLICA_ID: 'int-0',
      MOTIF_NODE_ID: 'int',
      MOTIF_ORIGIN_SECRET: `${key.kid}:${key.secret}`,
      MOTIF_NODE_KEY: `${TEST_NODE_KEY.kid}:${TEST_NODE_KEY.secret}`,
      MOTIF_EDGE_URL: edge.url,
      MOTIF_MODEL_ID: 'motif-tiny',
      MOTIF_ORIGIN_MODEL_DIR: FIXTURE,
      MOTIF_ORIGIN_DATA_DIR: dataDir,
      MOTIF_MAX_RUNNING: '2',
      MOTIF_HEARTBEAT_MS: '200',
    },
  });
  await waitForHttp(`${url}/readyz`, origin, 60_000);
});

afterAll(async () => {
  await origin?.stop();
  await edge?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('origin process with the native engine on tiny-motif', () => {
  it('streams a signed chat completion: role chunk, the golden greedy text, finish, usage, [DONE]', async () => {
    const res = await post(
      '/v1/chat/completions',
      {
        model: 'motif-tiny',
        messages: expected.chat.messages,
        max_tokens: expected.chat.greedy_new_ids.length,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      },
      'int-chat-1',
    );
    expect(res.status).toBe(200);
    const events = [];
    for await (const ev of readSse(res.body!)) events.push(ev);
    expect(events.every((e) => e.event === undefined)).toBe(true);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map(
      (e) =>
        JSON.parse(e.data) as {
          choices: { delta?: { role?: string; content?: string }; finish_reason: string | null }[];
          usage?: Record<string, number> | null;
        },
    );
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta?.content ?? '')).join('');
    expect(text).toBe(expected.chat.greedy_new_text);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('length');
    const final = chunks.at(-1)!;
    expect(final.choices).toEqual([]);
    expect(final.usage).toMatchObject({ prompt_tokens: expected.chat.ids.length, completion_tokens: expected.chat.greedy_new_ids.length });

    // The billing record reaches the "edge" with the same counts.
    await until(() => usage().some((r) => r.request_id === 'int-chat-1'), 'the usage record');
    expect(usage().find((r) => r.request_id === 'int-chat-1')).toMatchObject({
      replica_id: 'int-0',
      tenant_id: 'tenant-int',
      key_id: 'key-int',
      model: 'motif-tiny',
      revision: 'local',
      endpoint: 'chat.completions',
      prompt_tokens: expected.chat.ids.length,
      completion_tokens: expected.chat.greedy_new_ids.length,
      outcome: 'finish',
    });
  });

  it('refuses an unsigned request and a too-long prompt with OpenAI errors', async () => {
    const unsigned = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: { code: 'invalid_signature' } });
    const long = await post('/v1/completions', { model: 'motif-tiny', prompt: Array.from({ length: 200 }, () => 65) }, 'int-long-1');
    expect(long.status).toBe(400);
    expect(await long.json()).toMatchObject({ error: { code: 'context_length_exceeded' } });
  });

  it('a client disconnect mid-stream aborts the generation and bills outcome abort', async () => {
    const ac = new AbortController();
    const body = { model: 'motif-tiny', prompt: 'Once upon a time', max_tokens: 100, ignore_eos: true, stream: true };
    const res = await signedPost(url, '/v1/completions', body, { key, requestId: 'int-abort-1', signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await until(() => usage().some((r) => r.request_id === 'int-abort-1'), 'the abort usage record');
    const rec = usage().find((r) => r.request_id === 'int-abort-1')!;
    expect(rec.outcome).toBe('abort');
    expect(rec.completion_tokens).toBeGreaterThan(0);
    expect(rec.completion_tokens).toBeLessThan(100);
  });

  it('beats to the edge, then drains on SIGTERM: a draining beat, exit 0', async () => {
    await until(() => heartbeats().some((h) => h.state === 'ready'), 'a ready heartbeat');
    expect(heartbeats().at(-1)).toMatchObject({ replica_id: 'int-0', node_id: 'int', url, model: 'motif-tiny', revision: 'local', max_running: 2 });
    // Every ready beat says how long a prompt could still fit: 127 tokens of at most 16 bytes.
    const ready = heartbeats().filter((h) => h.state === 'ready');
    expect(ready.every((h) => h.max_prompt_bytes?.prompt === 127 * 16 && h.max_prompt_bytes.messages === 127 * 16)).toBe(true);
    await origin.stop(10_000);
    expect(await origin.exited).toBe(0);
    expect(heartbeats().at(-1)?.state).toBe('draining');
    expect(
      usage()
        .map((r) => r.request_id)
        .sort(),
    ).toEqual(['int-abort-1', 'int-chat-1', 'int-long-1']);
  });
});
