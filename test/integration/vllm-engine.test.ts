/**
 * MOTIF_ENGINE=vllm through the real stack (embedded S3 → origin → Node edge) with a stand-in
 * `vllm` first on PATH: a shell script that records its command line and GPU variables, then runs
 * `npm run sim:vllm` as `vllm serve …` (the simulator takes vLLM's command line). The origin's
 * supervisor is the real one: start, ready, non-stream and stream generations with usage in the
 * edge's ledger, a client abort that cancels the vLLM request, a vLLM killed mid-stream (the
 * client gets an SSE error event, the replica leaves rotation and returns after the restart), a
 * weights update that starts vLLM on the new snapshot, and a drain on SIGTERM that lets a running
 * stream finish and stops the child.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishModel } from '../../origin/src/adapters/node/weights/publish.ts';
import { writeRef } from '../../origin/src/weights/refs.ts';
import { REPO_ROOT } from '../../scripts/stack/processes.ts';
import { generateModel } from '../../tools/model-gen/index.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { ledgerRows, metricValue, originMetricsHeaders } from '../reliability/support/stack-probes.ts';

let stack: TestStack;
let client: OpenAI;
let scratch: string;
let starts: string;

/** `vllm`: one line per start (pid, GPU and AITER variables, argv), then the simulator in its place. */
const STAND_IN = (node: string) => `#!/bin/sh
echo "$$ HIP=$HIP_VISIBLE_DEVICES ROCR=$ROCR_VISIBLE_DEVICES AITER=$VLLM_ROCM_USE_AITER $*" >> "$VLLM_STAND_IN_STARTS"
cd "${REPO_ROOT}" || exit 1
exec "${node}" --import tsx origin/src/cli/sim-vllm/main.ts "$@" --sim '{"speed":4,"meanOutputTokens":12}'
`;

interface Start {
  pid: number;
  line: string;
}
const readStarts = (): Start[] =>
  existsSync(starts)
    ? readFileSync(starts, 'utf8')
        .trim()
        .split('\n')
        .map((line) => ({ pid: Number(line.split(' ')[0]), line }))
    : [];

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n--- logs ---\n${stack.logs.slice(-40).join('\n')}`);
    await sleep(100);
  }
}

const readyz = async () => (await fetch(`${stack.originUrl}/readyz`)).status;
const originMetrics = async () => (await fetch(`${stack.originUrl}/metrics`, { headers: originMetricsHeaders(stack) })).text();

/** A raw streamed chat through the edge: the SSE text as it arrives. */
async function openStream(maxTokens: number, signal?: AbortSignal): Promise<{ res: Response; read: () => Promise<string | undefined> }> {
  const res = await fetch(`${stack.edgeUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: stack.model, messages: [{ role: 'user', content: 'Count slowly' }], max_tokens: maxTokens, stream: true, ignore_eos: true }),
    ...(signal ? { signal } : {}),
  });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  return { res, read: async () => ((r) => (r.done ? undefined : dec.decode(r.value)))(await reader.read()) };
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'motif-vllm-'));
  starts = join(scratch, 'starts.log');
  const bin = join(scratch, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'vllm'), STAND_IN(process.execPath));
  chmodSync(join(bin, 'vllm'), 0o755);
  stack = await startTestStack({
    originEnv: {
      MOTIF_ENGINE: 'vllm',
      PATH: `${bin}:${process.env.PATH}`,
      VLLM_STAND_IN_STARTS: starts,
      MOTIF_VLLM_GPU: '1',
      MOTIF_MAX_RUNNING: '4',
      MOTIF_HEARTBEAT_MS: '200',
      MOTIF_WEIGHTS_POLL_MS: '300',
    },
  });
  client = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });
}, 120_000);
afterAll(async () => {
  await stack?.dispose();
  // A failed test must not leave a stand-in running.
  for (const { pid } of starts ? readStarts() : []) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('origin on a supervised vllm (stand-in)', () => {
  it('ran `vllm serve <snapshot> …` with the recipe, on its GPU, and logs the child under a prefix', () => {
    const [first] = readStarts();
    const model = stack.model.replaceAll('.', '\\.');
    expect(first?.line).toMatch(
      new RegExp(
        `^\\d+ HIP=0 ROCR=1 AITER=0 serve \\S+/snapshots/\\S+ --host 127\\.0\\.0\\.1 --port \\d+ --served-model-name ${model} --max-num-seqs 4 --dtype bfloat16 `,
      ),
    );
    expect(stack.logs.join('\n')).toMatch(new RegExp(`vllm\\[[^\\]]+\\] sim:vllm: listening on http://127\\.0\\.0\\.1:\\d+ as ${model}`));
  });

  it('non-stream and stream through the edge, with vLLM usage in the ledger', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: stack.model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5, temperature: 0 })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.usage).toMatchObject({ completion_tokens: 5 });
    expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    const id = response.headers.get('x-request-id');
    const stream = await client.chat.completions.create({
      model: stack.model,
      messages: [{ role: 'user', content: 'Stream please' }],
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
      ...({ ignore_eos: true } as object),
    });
    let text = '';
    let completion = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) completion = chunk.usage.completion_tokens;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(completion).toBe(6);
    const row = await until('the non-stream request in the ledger', () => ledgerRows(stack.dataDir).find((r) => r.request_id === id));
    expect(row).toMatchObject({ outcome: 'finish', completion_tokens: 5, prompt_tokens: data.usage!.prompt_tokens });
  });

  it('a client that goes away cancels the vLLM request', async () => {
    const ctrl = new AbortController();
    const s = await openStream(2_000, ctrl.signal);
    expect(s.res.status).toBe(200);
    for (let got = ''; !got.includes('"content"'); ) got += (await s.read()) ?? '';
    // The origin's gauge is vLLM's own, scraped from the stand-in's /metrics.
    await until('vLLM running 1', async () => metricValue(await originMetrics(), 'vllm:num_requests_running') === 1);
    const before = metricValue(await originMetrics(), 'motif_origin_usage_records_total', 'outcome="abort"') ?? 0;
    ctrl.abort();
    await until('the abort record', async () => (metricValue(await originMetrics(), 'motif_origin_usage_records_total', 'outcome="abort"') ?? 0) > before);
    // The stand-in stopped generating: the running gauge scraped from it falls to 0.
    await until('vLLM running 0', async () => metricValue(await originMetrics(), 'vllm:num_requests_running') === 0);
  });

  it('vLLM killed mid-stream: an SSE error event; out of rotation; back after the restart; the next request succeeds', async () => {
    const s = await openStream(2_000);
    let text = '';
    while (!text.includes('"content"')) text += (await s.read()) ?? '';
    const victim = readStarts().at(-1)!.pid;
    process.kill(victim, 'SIGKILL');
    for (let chunk = await s.read(); chunk !== undefined; chunk = await s.read()) text += chunk;
    expect(text).toMatch(/event: error\ndata: \{"error":\{[^\n]*"type":"server_error"/);
    expect(text).not.toContain('[DONE]');
    await until('/readyz 503 while vLLM restarts', async () => (await readyz()) === 503, 10_000);
    await until('/readyz 200 after the restart', async () => (await readyz()) === 200, 60_000);
    expect(readStarts().length).toBeGreaterThanOrEqual(2);
    expect(stack.logs.join('\n')).toMatch(/was killed by SIGKILL; out of rotation/);
    // The edge routes to it again once a ready heartbeat arrived.
    const res = await until('a request through the edge', () =>
      client.chat.completions
        // ignore_eos: sampled at the default temperature, the model may end early, which is not what this checks.
        .create({ model: stack.model, messages: [{ role: 'user', content: 'Again' }], max_tokens: 3, ...({ ignore_eos: true } as object) })
        .catch(() => undefined),
    );
    expect(res.usage?.completion_tokens).toBe(3);
  });

  it('a weights update starts vLLM on the new snapshot and swaps to it', async () => {
    const s3 = stack.s3;
    const gen = await generateModel({ outDir: join(scratch, 'model-b'), preset: 'tiny', seed: 11 });
    const rev = (await publishModel({ s3: s3.client, bucket: s3.bucket, model: stack.model, fromDir: gen.dir })).revision;
    const before = readStarts();
    await writeRef({ s3: s3.client, bucket: s3.bucket, model: stack.model, ref: 'stable', revision: rev });
    const res = await until(
      'an answer from the new revision',
      async () => {
        const r = await client.chat.completions
          .create({ model: stack.model, messages: [{ role: 'user', content: 'New?' }], max_tokens: 2 })
          .catch(() => undefined);
        return r?.system_fingerprint === `fp_${rev}` ? r : undefined;
      },
      60_000,
    );
    expect(res.choices[0]?.finish_reason).toBeDefined();
    const after = readStarts();
    expect(after.length).toBe(before.length + 1);
    expect(after.at(-1)!.line).toContain(rev);
    // Drain-first: the old server is stopped before the new one starts on the same GCD.
    expect(alive(before.at(-1)!.pid)).toBe(false);
  });

  it('SIGTERM drains: a running stream finishes, then the origin stops its vLLM', async () => {
    // Long enough (≈1 s at the stand-in's speed) to be running when SIGTERM arrives.
    const s = await openStream(300);
    let text = '';
    while (!text.includes('"content"')) text += (await s.read()) ?? '';
    const stopping = stack.origin.stop();
    for (let chunk = await s.read(); chunk !== undefined; chunk = await s.read()) text += chunk;
    expect(text).toContain('data: [DONE]');
    expect(text).not.toContain('event: error');
    await stopping;
    expect(stack.logs.join('\n')).toMatch(/origin: draining/);
    const last = readStarts().at(-1)!.pid;
    await until('the stand-in to exit', () => !alive(last), 15_000);
  });
});
