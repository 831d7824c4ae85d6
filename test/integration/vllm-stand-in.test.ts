/**
 * The stand-in `vllm` the README offers for trying MOTIF_ENGINE=vllm without a GPU
 * (scripts/vllm-stand-in/vllm): run from anywhere with vLLM's `serve` command line, it answers
 * /health, the OpenAI chat API under the served model name, and vLLM's /metrics.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type ManagedProcess, REPO_ROOT, spawnManaged, waitForHttp } from '../../scripts/stack/processes.ts';

let proc: ManagedProcess;
let url: string;
let scratch: string;
const logs: string[] = [];

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'motif-vllm-stand-in-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  proc = spawnManaged({
    name: 'vllm',
    command: join(REPO_ROOT, 'scripts/vllm-stand-in/vllm'),
    args: ['serve', scratch, '--host', '127.0.0.1', '--port', String(port), '--served-model-name', 'motif-try', '--dtype', 'bfloat16'],
    env: process.env,
    cwd: scratch,
    log: (l) => logs.push(l),
  });
  await waitForHttp(`${url}/health`, proc, 60_000);
}, 90_000);

afterAll(async () => {
  await proc?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('scripts/vllm-stand-in/vllm', () => {
  it("serves vLLM's chat API and metrics under the served model name", async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'motif-try', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }),
    });
    expect(res.status, logs.join('\n')).toBe(200);
    const body = (await res.json()) as { model: string; usage: { completion_tokens: number } };
    expect(body.model).toBe('motif-try');
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('vllm:num_requests_running');
  });
});
