/**
 * A rolling weight update through the real stack (embedded S3 → origin → Node edge) with the
 * official `openai` SDK: 8 clients stream chat completions back to back while the `stable` ref
 * moves to a new revision (the generated tiny model with another seed). The origin syncs it in
 * the background and swaps engines (overlap): no request fails across the swap, every response
 * names the revision that generated it, and once a client got the new revision it never gets the
 * old one again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishModel } from '../../origin/src/adapters/node/weights/publish.ts';
import { resolveRef, writeRef } from '../../origin/src/weights/refs.ts';
import { generateModel } from '../../tools/model-gen/index.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const CLIENTS = 8;
/** Requests each client must finish on the new revision before the load stops. */
const AFTER_SWAP = 3;

let stack: TestStack;
let client: OpenAI;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'motif-e2e-rollout-'));
  stack = await startTestStack({ originEnv: { MOTIF_WEIGHTS_POLL_MS: '200', MOTIF_SWAP_STRATEGY: 'overlap', MOTIF_MAX_RUNNING: '8', MOTIF_MAX_QUEUE: '64' } });
  client = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

interface Outcome {
  fingerprint: string | undefined;
  finish: string | null | undefined;
  text: string;
}

/** One streamed chat completion; throws on any failure, including a stream without a finish. */
async function streamOnce(i: number): Promise<Outcome> {
  const stream = await client.chat.completions.create({
    model: stack.model,
    stream: true,
    max_tokens: 48,
    temperature: 0.8,
    seed: i,
    messages: [{ role: 'user', content: `client ${i}: tell me about rolling updates` }],
  });
  const out: Outcome = { fingerprint: undefined, finish: undefined, text: '' };
  for await (const chunk of stream) {
    // Every chunk of one response carries the same fingerprint.
    if (out.fingerprint !== undefined && chunk.system_fingerprint !== out.fingerprint)
      throw new Error(`fingerprint changed mid-stream: ${out.fingerprint} → ${chunk.system_fingerprint}`);
    out.fingerprint = chunk.system_fingerprint;
    for (const c of chunk.choices) {
      out.text += c.delta.content ?? '';
      out.finish = c.finish_reason ?? out.finish;
    }
  }
  if (!out.finish) throw new Error('the stream ended without a finish_reason');
  return out;
}

describe('rolling update under load', () => {
  it('8 streaming clients see zero failures while the ref moves; later responses come from the new revision', async () => {
    const s3 = stack.s3;
    const oldRev = await resolveRef({ s3: s3.client, bucket: s3.bucket, model: stack.model, ref: 'stable' });
    const gen = await generateModel({ outDir: join(scratch, 'model-b'), preset: 'tiny', seed: 7 });
    const newRev = (await publishModel({ s3: s3.client, bucket: s3.bucket, model: stack.model, fromDir: gen.dir })).revision;
    expect(newRev).not.toBe(oldRev);
    const fpOld = `fp_${oldRev}`;
    const fpNew = `fp_${newRev}`;

    const results: Outcome[][] = Array.from({ length: CLIENTS }, () => []);
    const failures: string[] = [];
    let stop = false;
    const onNew = () => results.map((r) => r.filter((o) => o.fingerprint === fpNew).length);
    // Bounded: the whole run gives up after a fixed number of requests per client.
    const clients = results.map(async (mine, i) => {
      for (let n = 0; n < 400 && !stop; n++) {
        try {
          mine.push(await streamOnce(i * 1000 + n));
        } catch (err) {
          failures.push(`client ${i} request ${n}: ${(err as Error).message}`);
        }
      }
    });

    const waitFor = async (what: string, cond: () => boolean) => {
      for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
      if (!cond()) throw new Error(`timed out waiting for ${what}; failures: ${failures.join('; ')}\n${stack.logs.slice(-30).join('\n')}`);
    };
    try {
      await waitFor('every client to stream on the old revision', () => results.every((r) => r.length >= 2));
      await writeRef({ s3: s3.client, bucket: s3.bucket, model: stack.model, ref: 'stable', revision: newRev });
      await waitFor('every client to stream on the new revision', () => onNew().every((n) => n >= AFTER_SWAP));
    } finally {
      stop = true;
      await Promise.all(clients);
    }

    expect(failures).toEqual([]);
    for (const mine of results) {
      const fps = mine.map((o) => o.fingerprint);
      expect(new Set(fps)).toEqual(new Set([fpOld, fpNew]));
      // Sequential requests of one client: once the swap reached it, it stays on the new revision.
      const firstNew = fps.indexOf(fpNew);
      expect(fps.slice(firstNew).every((fp) => fp === fpNew)).toBe(true);
      expect(mine.every((o) => o.finish === 'stop' || o.finish === 'length')).toBe(true);
    }
    expect(stack.logs.join('\n')).toMatch(new RegExp(`rollout: serving revision ${newRev} \\(was ${oldRev}; overlap`));
  });
});
