import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { toBf16Bits, toF16Bits } from './dtype.ts';
import { generateModel, STAMP_FILE } from './generate-model.ts';
import { type GenerateModelOptions, resolveModelSpec } from './model-spec.ts';
import { parameterCount } from './tensor-plan.ts';
import { readCheckpoint } from './testing/read-checkpoint.ts';

const FIXTURE = new URL('../../test/fixtures/tiny-motif/', import.meta.url);
const fixtureJson = (name: string) => JSON.parse(readFileSync(new URL(name, FIXTURE), 'utf8'));
const readJson = async (dir: string, name: string) => JSON.parse(await readFile(join(dir, name), 'utf8'));

async function hashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort())
    out[f] = createHash('sha256')
      .update(await readFile(join(dir, f)))
      .digest('hex');
  return out;
}

/** The 16 per-layer tensor names + 2 globals of SPEC §2.8. */
function expectedNames(layers: number): string[] {
  const per = [
    'input_layernorm.weight',
    'post_attention_layernorm.weight',
    'self_attn.q_proj.weight',
    'self_attn.k_proj.weight',
    'self_attn.v_proj.weight',
    'self_attn.o_proj.weight',
    'self_attn.lambda_q1',
    'self_attn.lambda_k1',
    'self_attn.lambda_q2',
    'self_attn.lambda_k2',
    'self_attn.subln.weight',
    'mlp.gate_proj.weight',
    'mlp.up_proj.weight',
    'mlp.down_proj.weight',
    'mlp.act_fn.weight',
    'mlp.act_fn.bias',
  ];
  const names = ['model.embed_tokens.weight', 'model.norm.weight'];
  for (let l = 0; l < layers; l++) for (const p of per) names.push(`model.layers.${l}.${p}`);
  return names.sort();
}

let root: string;
let tiny: Awaited<ReturnType<typeof generateModel>>;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'model-gen-test-'));
  tiny = await generateModel({ outDir: join(root, 'tiny'), preset: 'tiny' });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the tiny preset', () => {
  it('writes a complete HF model directory with two BF16 shards', async () => {
    expect(tiny.files).toEqual([
      'config.json',
      'generation_config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    let bytes = 0;
    for (const f of tiny.files) bytes += (await stat(join(tiny.dir, f))).size;
    expect(tiny.bytes).toBe(bytes);
  });

  it('has a config.json with the real Motif keys and the tokenizer-sized vocabulary', async () => {
    const cfg = await readJson(tiny.dir, 'config.json');
    expect(Object.keys(cfg).sort()).toEqual(Object.keys(fixtureJson('config.json')).sort());
    expect(cfg).toMatchObject({
      architectures: ['MotifForCausalLM'],
      hidden_act: 'poly_norm',
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      hidden_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      num_hidden_layers: 3,
      intermediate_size: 128,
      max_position_embeddings: 2048,
      vocab_size: 512,
      bos_token_id: 509,
      eos_token_id: 511,
      pad_token_id: 509,
    });
    expect(await readJson(tiny.dir, 'generation_config.json')).toEqual({ bos_token_id: 509, eos_token_id: [511, 509], pad_token_id: 509, do_sample: false });
    const tok = await readJson(tiny.dir, 'tokenizer.json');
    expect(Object.keys(tok.model.vocab).length + tok.added_tokens.length).toBe(cfg.vocab_size);
  });

  it('holds exactly the real tensor names and shapes (no lm_head), in BF16', () => {
    const w = readCheckpoint(tiny.dir);
    expect([...w.keys()].sort()).toEqual(expectedNames(3));
    expect(w.has('lm_head.weight')).toBe(false);
    for (const t of w.values()) expect(t.dtype).toBe('BF16');
    expect(w.get('model.embed_tokens.weight')!.shape).toEqual([512, 64]);
    expect(w.get('model.layers.2.self_attn.k_proj.weight')!.shape).toEqual([64, 64]);
    expect(w.get('model.layers.0.self_attn.lambda_q1')!.shape).toEqual([16]);
    expect(w.get('model.layers.0.self_attn.subln.weight')!.shape).toEqual([32]);
    expect(w.get('model.layers.1.mlp.gate_proj.weight')!.shape).toEqual([128, 64]);
    expect(w.get('model.layers.1.mlp.down_proj.weight')!.shape).toEqual([64, 128]);
    expect(w.get('model.layers.1.mlp.act_fn.weight')!.shape).toEqual([3]);
    expect(w.get('model.layers.1.mlp.act_fn.bias')!.shape).toEqual([1]);
    // Both shards are really used.
    expect(new Set([...w.values()].map((t) => t.file)).size).toBe(2);
  });

  it('draws sensible weights: scaled projections, norms near 1, small non-zero λ, PolyNorm near [0.3, 0.3, 0.4]', () => {
    const w = readCheckpoint(tiny.dir);
    const stats = (name: string) => {
      const v = w.get(name)!.values;
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length), v };
    };
    const emb = stats('model.embed_tokens.weight');
    expect(Math.abs(emb.mean)).toBeLessThan(0.01);
    expect(emb.std).toBeGreaterThan(0.125 * 0.95);
    expect(emb.std).toBeLessThan(0.125 * 1.05);
    expect(stats('model.layers.0.mlp.down_proj.weight').std).toBeLessThan(stats('model.layers.0.mlp.up_proj.weight').std);
    for (const n of ['model.norm.weight', 'model.layers.2.input_layernorm.weight', 'model.layers.0.self_attn.subln.weight']) {
      const s = stats(n);
      expect(Math.abs(s.mean - 1)).toBeLessThan(0.05);
      expect(s.std).toBeGreaterThan(0.01);
    }
    for (let l = 0; l < 3; l++) {
      const lam = stats(`model.layers.${l}.self_attn.lambda_k2`);
      expect(lam.v.every((x) => x !== 0 && Math.abs(x) < 0.6)).toBe(true);
      const poly = stats(`model.layers.${l}.mlp.act_fn.weight`).v;
      [0.3, 0.3, 0.4].forEach((m, i) => expect(Math.abs(poly[i]! - m)).toBeLessThan(0.1));
      expect([0.3, 0.3, 0.4]).not.toEqual([...poly]);
      expect(stats(`model.layers.${l}.mlp.act_fn.bias`).v[0]).not.toBe(0);
    }
  });
});

describe('determinism and idempotency', () => {
  it('same seed and options → byte-identical files (sha256)', async () => {
    const again = await generateModel({ outDir: join(root, 'tiny-again'), preset: 'tiny' });
    expect(await hashes(again.dir)).toEqual(await hashes(tiny.dir));
  });

  it('another seed changes the weights but not the tokenizer', async () => {
    const other = await generateModel({ outDir: join(root, 'tiny-seed7'), preset: 'tiny', seed: 7 });
    const [a, b] = [await hashes(tiny.dir), await hashes(other.dir)];
    expect(b['tokenizer.json']).toBe(a['tokenizer.json']);
    expect(b['config.json']).toBe(a['config.json']);
    expect(b['model-00001-of-00002.safetensors']).not.toBe(a['model-00001-of-00002.safetensors']);
  });

  it('a second call with the same options rewrites nothing', async () => {
    const before = await Promise.all(tiny.files.map((f) => stat(join(tiny.dir, f))));
    const res = await generateModel({ outDir: tiny.dir, preset: 'tiny', seed: 0 });
    expect(res).toEqual(tiny);
    const after = await Promise.all(tiny.files.map((f) => stat(join(tiny.dir, f))));
    expect(after.map((s) => [s.ino, s.mtimeMs])).toEqual(before.map((s) => [s.ino, s.mtimeMs]));
  });

  it('replaces its own older generation when the options change, leaving no temp dirs', async () => {
    const dir = join(root, 'swap');
    await generateModel({ outDir: dir, preset: 'tiny', seed: 1 });
    const first = await hashes(dir);
    await generateModel({ outDir: dir, preset: 'tiny', seed: 2 });
    const second = await hashes(dir);
    expect(second['model-00002-of-00002.safetensors']).not.toBe(first['model-00002-of-00002.safetensors']);
    expect(JSON.parse(await readFile(join(dir, STAMP_FILE), 'utf8')).key.seed).toBe(2);
    expect((await readdir(root)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('regenerates when a recorded file went missing', async () => {
    const dir = join(root, 'damaged');
    await generateModel({ outDir: dir, preset: 'tiny', shards: 1 });
    const good = await hashes(dir);
    await rm(join(dir, 'model.safetensors'));
    await generateModel({ outDir: dir, preset: 'tiny', shards: 1 });
    expect(await hashes(dir)).toEqual(good);
  });

  it('removes temp dirs abandoned by dead generators, not those of live ones', async () => {
    const dir = join(root, 'crashed');
    const deadPid = 2 ** 22 + 12_345; // above Linux's pid_max: never a live process
    const dead = join(root, `.crashed.tmp-${deadPid}-abc123`);
    const live = join(root, `.crashed.tmp-${process.pid}-def456`);
    await mkdir(dead);
    await writeFile(join(dead, 'model.safetensors'), 'partial');
    await mkdir(live);
    await generateModel({ outDir: dir, preset: 'tiny' });
    const names = await readdir(root);
    expect(names).not.toContain(`.crashed.tmp-${deadPid}-abc123`);
    expect(names).toContain(`.crashed.tmp-${process.pid}-def456`);
    await rm(live, { recursive: true });
  });

  it('refuses to overwrite a non-empty directory it did not create', async () => {
    const dir = join(root, 'foreign');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await expect(generateModel({ outDir: dir, preset: 'tiny' })).rejects.toMatchObject({ code: 'conflict', param: 'outDir' });
    expect(await readdir(dir)).toEqual(['notes.txt']);
  });

  it('fills an existing empty directory', async () => {
    const dir = join(root, 'empty');
    await mkdir(dir);
    const res = await generateModel({ outDir: dir, preset: 'tiny' });
    expect(await hashes(res.dir)).toEqual(await hashes(tiny.dir));
  });

  it('two concurrent generations of the same model both succeed with one result', async () => {
    const dir = join(root, 'race');
    const [a, b] = await Promise.all([generateModel({ outDir: dir, preset: 'tiny' }), generateModel({ outDir: dir, preset: 'tiny' })]);
    expect(a).toEqual(b);
    expect(await hashes(dir)).toEqual(await hashes(tiny.dir));
    expect((await readdir(root)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('dtypes', () => {
  it('F32, BF16 and F16 files hold the same draws, rounded to nearest even', async () => {
    const opts = { preset: 'tiny' as const, shards: 1, seed: 3 };
    const f32 = readCheckpoint((await generateModel({ ...opts, outDir: join(root, 'f32'), dtype: 'F32' })).dir);
    const bf16 = readCheckpoint((await generateModel({ ...opts, outDir: join(root, 'bf16'), dtype: 'BF16' })).dir);
    const f16 = readCheckpoint((await generateModel({ ...opts, outDir: join(root, 'f16'), dtype: 'F16' })).dir);
    expect(await readJson(join(root, 'f16'), 'config.json')).toMatchObject({ torch_dtype: 'float16' });
    for (const [name, t] of f32) {
      expect(t.dtype).toBe('F32');
      const b = bf16.get(name)!;
      const h = f16.get(name)!;
      for (let i = 0; i < t.values.length; i++) {
        if (b.bits[i] !== toBf16Bits(t.values[i]!) || h.bits[i] !== toF16Bits(t.values[i]!)) throw new Error(`${name}[${i}] differs`);
      }
    }
  });
});

describe('options', () => {
  it.each([
    ['unknown preset', { preset: 'huge' }, 'preset'],
    ['negative seed', { seed: -1 }, 'seed'],
    ['fractional seed', { seed: 1.5 }, 'seed'],
    ['unknown dtype', { dtype: 'F64' }, 'dtype'],
    ['zero shards', { shards: 0 }, 'shards'],
    ['more shards than tensors', { shards: 51 }, 'shards'],
    ['empty outDir', { outDir: '' }, 'outDir'],
    ['unknown option', { colour: 'red' }, null],
    ['odd head count', { overrides: { num_attention_heads: 3, num_key_value_heads: 3, hidden_size: 96 } }, 'overrides.num_attention_heads'],
    ['GQA', { overrides: { num_key_value_heads: 2 } }, 'overrides.num_key_value_heads'],
    ['hidden not divisible by heads', { overrides: { hidden_size: 66 } }, 'overrides.hidden_size'],
    ['vocab below the tokenizer', { overrides: { vocab_size: 300 } }, 'overrides.vocab_size'],
    ['unknown override', { overrides: { hidden_layers: 2 } }, 'overrides'],
    ['non-positive eps', { overrides: { rms_norm_eps: 0 } }, 'overrides.rms_norm_eps'],
  ])('rejects %s with an invalid_request_error', async (_name, patch, param) => {
    const opts = { outDir: join(root, 'never'), preset: 'tiny', ...patch } as unknown as GenerateModelOptions;
    const err = await generateModel(opts).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('invalid_request_error');
    if (param) expect((err as ApiError).param).toBe(param);
    await expect(stat(join(root, 'never'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('the motif-2.6b preset (planned, not written)', () => {
  const spec = resolveModelSpec({ outDir: 'unused', preset: 'motif-2.6b' });

  it('has the full Motif-2.6B dimensions and parameter count', () => {
    expect(spec.arch).toMatchObject({
      hidden_size: 2048,
      intermediate_size: 8192,
      num_hidden_layers: 32,
      num_attention_heads: 16,
      num_key_value_heads: 16,
      vocab_size: 219_520,
    });
    expect(spec.tensors).toHaveLength(514);
    expect(spec.tensors.map((t) => t.name).sort()).toEqual(expectedNames(32));
    expect(parameterCount(spec.tensors)).toBe(2_597_218_432);
    expect(spec.dtype).toBe('BF16');
  });

  it('splits BF16 weights into shards of at most 2 GB', () => {
    expect(spec.shards.length).toBe(3);
    for (const s of spec.shards) expect(s.dataBytes).toBeLessThanOrEqual(2e9);
    expect(spec.shards.reduce((n, s) => n + s.dataBytes, 0)).toBe(2 * 2_597_218_432);
  });

  it('pads the tokenizer to 219,520 ids with the special tokens at the top', () => {
    expect(spec.tokenizer.specialIds).toEqual({ endOfText: 219_517, imStart: 219_518, imEnd: 219_519 });
    const t = spec.tokenizer.tokenizerJson as { model: { vocab: Record<string, number> }; added_tokens: unknown[] };
    expect(Object.keys(t.model.vocab).length + t.added_tokens.length).toBe(219_520);
  });
});
