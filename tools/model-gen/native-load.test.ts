/**
 * Generated checkpoints through the engine's own loader and forward pass (origin/src/engine/native):
 * the default tiny model must load (BF16, sharded) and run without NaN, and agree with the
 * independent float64 reference forward used by this folder's tests.
 */

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMotifModelDir } from '../../origin/src/adapters/node/engine/engine-loaders.ts';
import { loadTokenizerDir } from '../../origin/src/adapters/node/engine/tokenizer-files.ts';
import { generateModel } from './generate-model.ts';
import type { GenerateModelOptions } from './model-spec.ts';
import { readCheckpoint } from './testing/read-checkpoint.ts';
import { type ForwardConfig, referenceForward } from './testing/reference-forward.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'model-gen-native-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('MotifModel.load on generated checkpoints', () => {
  it.each<[string, string, Pick<GenerateModelOptions, 'dtype' | 'shards' | 'seed'>]>([
    ['tiny preset (BF16, 2 shards)', 'bf16', {}],
    ['F32, one file', 'f32', { dtype: 'F32', shards: 1 }],
    ['F16, 3 shards, seed 5', 'f16', { dtype: 'F16', shards: 3, seed: 5 }],
  ])('%s: loads, runs prefill + a decode step without NaN, matches the reference forward', async (_label, name, opts) => {
    const dir = (await generateModel({ outDir: join(root, name), preset: 'tiny', ...opts })).dir;
    const model = await loadMotifModelDir(dir);
    expect(model.config.vocab_size).toBe(512);
    expect([...model.eosTokenIds].sort()).toEqual([509, 511]);

    const prompt = [510, 40, 41, 42, 300, 301, 7];
    const cache = model.createCache(64);
    const [logits] = await model.forward([{ cache, ids: prompt }]);
    expect(logits!.length).toBe(512);
    expect(logits!.every(Number.isFinite)).toBe(true);

    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as ForwardConfig;
    const ref = referenceForward(readCheckpoint(dir), cfg, prompt).logits;
    const maxDiff = Math.max(...ref.map((v, i) => Math.abs(v - logits![i]!)));
    expect(maxDiff).toBeLessThan(1e-3);

    // One KV-cache decode step equals the prefill of the longer prompt.
    const next = logits!.indexOf(Math.max(...logits!));
    const [step] = await model.forward([{ cache, ids: [next] }]);
    const refStep = referenceForward(readCheckpoint(dir), cfg, [...prompt, next]).logits;
    expect(step!.every(Number.isFinite)).toBe(true);
    expect(Math.max(...refStep.map((v, i) => Math.abs(v - step![i]!)))).toBeLessThan(1e-3);
  });

  it("the engine's tokenizer loads the generated tokenizer files and chat template", async () => {
    const dir = (await generateModel({ outDir: join(root, 'tok'), preset: 'tiny' })).dir;
    const { tokenizer, chatTemplate } = await loadTokenizerDir(dir);
    const text = '안녕하세요! Motif는 작은 모델입니다. const x = 42; 🚀';
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    expect(chatTemplate).toBeDefined();
    const prompt = chatTemplate!.render([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
    expect(prompt).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
    expect(tokenizer.encode(prompt).filter((id) => id >= 509)).toEqual([510, 511, 510]);
  });
});
