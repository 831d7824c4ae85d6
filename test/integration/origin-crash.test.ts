/**
 * Nothing is lost when an origin dies mid-request: the real origin process on the tiny golden
 * checkpoint streams a long completion to a client, is killed with SIGKILL after some tokens went
 * out, and is restarted on the same data dir. The signed-verifying stand-in edge then receives
 * exactly one usage record for that request — outcome `error`, its prompt tokens, and completion
 * tokens within the journal's checkpoint bound below what the client received — and a replay of
 * the request signed before the restart is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS, INTERNAL_PATHS } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, signHeaders } from '#shared/signing.ts';
import { readSse } from '#shared/sse.ts';
import { UsageBatch } from '#shared/usage.ts';
import { type SignedReceiver, signedPost, startSignedReceiver, TEST_NODE_KEY, TEST_NODE_RING } from '../../origin/src/adapters/node/test-support.ts';
import { freePort, type ManagedProcess, spawnTsx, waitForHttp } from '../../scripts/stack/processes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/tiny-motif');
const CONTEXT = 128; // max_position_embeddings of tiny-motif
/** The journal's default bound (usage/journal.ts maxUncheckpointedTokens). */
const CHECKPOINT_BOUND = 16;
/** Kill once the client holds this many tokens: past the first checkpoints, far from the end. */
const KILL_AFTER = 24;
/** Tries at cutting the stream mid-generation before the test gives up (see the loop below). */
const MAX_ATTEMPTS = 3;
const key = { kid: 'k1', secret: 'crash-test-secret-0123456789' };

let edge: SignedReceiver;
let origin: ManagedProcess | undefined;
let url: string;
let port: number;
let dataDir: string;
const logs: string[] = [];

function startOrigin(): ManagedProcess {
  return spawnTsx({
    name: 'origin',
    file: 'origin/src/main.ts',
    log: (l) => logs.push(l),
    env: {
      ...process.env,
      MOTIF_ORIGIN_HOST: '127.0.0.1',
      MOTIF_ORIGIN_PORT: String(port),
      MOTIF_REPLICA_ID: 'crash-0',
      MOTIF_NODE_ID: 'crash',
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
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!cond()) throw new Error(`timed out waiting for ${what}\n${logs.slice(-40).join('\n')}`);
}

/** Usage records as the ledger receives them, in arrival order (redeliveries kept). */
const usage = () => edge.received.filter((r) => r.path === INTERNAL_PATHS.usage).flatMap((r) => UsageBatch.parse(r.body).records);

interface Chunk {
  choices: { text: string; logprobs: { tokens: string[] } | null; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

beforeAll(async () => {
  edge = await startSignedReceiver(TEST_NODE_RING);
  dataDir = mkdtempSync(join(tmpdir(), 'motif-origin-crash-'));
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  origin = startOrigin();
  await waitForHttp(`${url}/readyz`, origin, 60_000);
});

afterAll(async () => {
  await origin?.stop();
  await edge?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('origin killed mid-stream (kill -9) and restarted on the same data dir', () => {
  it('bills the cut request exactly once, within the checkpoint bound, and refuses its replay', async () => {
    // The prompt's token count, from a request that ends normally.
    const prompt = 'Once';
    const warm = await signedPost(
      url,
      '/v1/completions',
      { model: 'motif-tiny', prompt, max_tokens: 1, stream: true, stream_options: { include_usage: true } },
      { key, requestId: 'crash-warm' },
    );
    let promptTokens = 0;
    for await (const ev of readSse(warm.body!)) if (ev.data !== '[DONE]') promptTokens = (JSON.parse(ev.data) as Chunk).usage?.prompt_tokens ?? promptTokens;
    expect(promptTokens).toBeGreaterThan(0);

    // The long stream, signed once: the same bytes are replayed after the restart. The tiny model
    // can outrun the kill (every token already in the socket buffers when the client has read
    // KILL_AFTER of them): then the cut did not happen mid-generation, so restart and try again.
    let requestId = '';
    let body = '';
    let headers: Record<string, string> = {};
    let received = 0;
    let endedCleanly = true;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS && endedCleanly; attempt++) {
      if (attempt > 1) {
        origin = startOrigin();
        await waitForHttp(`${url}/readyz`, origin, 60_000);
      }
      requestId = `crash-long-${attempt}`;
      body = JSON.stringify({ model: 'motif-tiny', prompt, max_tokens: CONTEXT - promptTokens, ignore_eos: true, stream: true, logprobs: 0 });
      headers = {
        'content-type': 'application/json',
        [HEADERS.requestId]: requestId,
        [HEADERS.tenantId]: 'tenant-crash',
        [HEADERS.keyId]: 'key-crash',
      };
      headers[SIGNATURE_HEADER] = await signHeaders('POST', '/v1/completions', headers, body, key);
      const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers, body });
      expect(res.status).toBe(200);
      const victim = origin!;
      received = 0;
      endedCleanly = false;
      try {
        for await (const ev of readSse(res.body!)) {
          if (ev.data === '[DONE]') {
            endedCleanly = true;
            continue;
          }
          const c = JSON.parse(ev.data) as Chunk;
          if (c.choices[0]?.finish_reason) endedCleanly = true;
          received += c.choices[0]?.logprobs?.tokens.length ?? 0;
          if (received >= KILL_AFTER && victim.child.exitCode === null && victim.child.signalCode === null) victim.child.kill('SIGKILL');
        }
      } catch {
        // The connection dies with the process: everything before that was received and counted.
      }
      expect(await victim.exited).toBe('SIGKILL');
    }
    expect(endedCleanly, `the generation finished before the kill landed, ${MAX_ATTEMPTS} times`).toBe(false);
    expect(received).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(received).toBeLessThan(CONTEXT - promptTokens);
    expect(usage().some((r) => r.request_id === requestId)).toBe(false);

    origin = startOrigin();
    await waitForHttp(`${url}/readyz`, origin, 60_000);
    await until(() => usage().some((r) => r.request_id === requestId), 'the recovered usage record');
    const rec = usage().find((r) => r.request_id === requestId)!;
    expect(rec).toMatchObject({
      replica_id: 'crash-0',
      tenant_id: 'tenant-crash',
      key_id: 'key-crash',
      model: 'motif-tiny',
      endpoint: 'completions',
      outcome: 'error',
      prompt_tokens: promptTokens,
    });
    expect(rec.completion_tokens).toBeLessThanOrEqual(received);
    expect(rec.completion_tokens).toBeGreaterThanOrEqual(received - CHECKPOINT_BOUND);
    expect(rec.finished_at).toBeGreaterThanOrEqual(rec.started_at);
    expect(logs.some((l) => /finalized 1 request\(s\) left running by a stopped process/.test(l))).toBe(true);

    // The captured request, replayed byte for byte after the restart: refused.
    const replay = await fetch(`${url}/v1/completions`, { method: 'POST', headers, body });
    expect(replay.status).toBe(409);
    expect(await replay.json()).toMatchObject({ error: { code: 'conflict' } });

    // A fresh request is served; once its record is in, the cut one has still arrived only once.
    const fresh = await signedPost(
      url,
      '/v1/completions',
      { model: 'motif-tiny', prompt, max_tokens: 3, ignore_eos: true },
      { key, requestId: 'crash-after-1' },
    );
    expect(fresh.status).toBe(200);
    await until(() => usage().some((r) => r.request_id === 'crash-after-1'), 'the record of a request after the restart');
    expect(usage().filter((r) => r.request_id === requestId)).toHaveLength(1);
    expect(usage().find((r) => r.request_id === 'crash-after-1')).toMatchObject({ outcome: 'finish', completion_tokens: 3 });
  });
});
