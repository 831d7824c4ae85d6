import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { nodeCheckpoint } from '../../../adapters/node/engine/checkpoint-dir.ts';
import { loadMotifModelDir } from '../../../adapters/node/engine/engine-loaders.ts';
import { f32ArrayToBf16, f32ArrayToF16, type StoredData, storedToF32 } from '../kernels/dtype.ts';
import { stackRows } from './fused-weights.ts';
import type { Tensor } from './safetensors.ts';
import { encodeSafetensors, memoryFile, readSafetensorsHeader, readTensor } from './safetensors.ts';
import { loadMotifConfig, loadMotifWeights, memoryCheckpoint } from './weights.ts';

const FIXTURE = fileURLToPath(new URL('../../../../../test/fixtures/tiny-motif/', import.meta.url));
const read = (f: string) => readFileSync(join(FIXTURE, f));
const configText = read('config.json').toString();
const genText = read('generation_config.json').toString();
const expected = JSON.parse(read('expected.json').toString()) as { cases: { input_ids: number[]; last_logits: number[]; top5_ids: number[] }[] };

let tensors: Record<string, Tensor>;
beforeAll(async () => {
  const file = memoryFile('model.safetensors', new Uint8Array(read('model.safetensors')));
  const header = await readSafetensorsHeader(file);
  tensors = {};
  for (const info of header.tensors.values()) tensors[info.name] = await readTensor(file, info);
});

function checkpoint(t: Record<string, Tensor>, extra: Record<string, string | Uint8Array> = {}) {
  return memoryCheckpoint({ 'config.json': configText, 'generation_config.json': genText, 'model.safetensors': encodeSafetensors(t), ...extra });
}

async function loadError(src: ReturnType<typeof memoryCheckpoint>): Promise<string> {
  const err = await loadMotifWeights(src, await loadMotifConfig(src)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).code).toBe('engine_unavailable');
  return (err as ApiError).message;
}

describe('loadMotifWeights', () => {
  it('loads the fixture with matrices as [out, in] f32', async () => {
    const src = checkpoint(tensors);
    const w = await loadMotifWeights(src, await loadMotifConfig(src));
    expect(w.layers).toHaveLength(3);
    expect(w.head).toBe(w.embed);
    expect(w.layers[0]!.gate).toMatchObject({ dtype: 'F32', rows: 128, cols: 64 });
    expect(w.layers[0]!.down).toMatchObject({ rows: 64, cols: 128 });
    expect(w.layers[2]!.subln).toHaveLength(32);
  });

  it('fuses q/k/v and gate/up into one buffer each, the single matrices being views of it', async () => {
    const src = checkpoint(tensors);
    const w = await loadMotifWeights(src, await loadMotifConfig(src));
    for (const [l, layer] of w.layers.entries()) {
      const p = `model.layers.${l}.`;
      expect(layer.qkv).toMatchObject({ dtype: 'F32', rows: 192, cols: 64 });
      expect(layer.gateUp).toMatchObject({ dtype: 'F32', rows: 256, cols: 64 });
      const parts = [
        [layer.q, layer.qkv, 0, `${p}self_attn.q_proj.weight`],
        [layer.k, layer.qkv, 64 * 64, `${p}self_attn.k_proj.weight`],
        [layer.v, layer.qkv, 2 * 64 * 64, `${p}self_attn.v_proj.weight`],
        [layer.gate, layer.gateUp, 0, `${p}mlp.gate_proj.weight`],
        [layer.up, layer.gateUp, 128 * 64, `${p}mlp.up_proj.weight`],
      ] as const;
      for (const [part, fused, at, name] of parts) {
        expect(part.data.buffer).toBe(fused.data.buffer);
        expect(part.data.byteOffset - fused.data.byteOffset).toBe(at * 4);
        expect([...part.data]).toEqual([...tensors[name]!.data]);
      }
    }
  });

  it('fuses by copying (widened to F32) when a group mixes dtypes', async () => {
    const name = 'model.layers.1.self_attn.k_proj.weight';
    const k = tensors[name]!;
    const src = checkpoint({ ...tensors, [name]: { dtype: 'BF16', data: f32ArrayToBf16(k.data as Float32Array), shape: k.shape } });
    const w = await loadMotifWeights(src, await loadMotifConfig(src));
    const l = w.layers[1]!;
    expect(l.k.dtype).toBe('BF16');
    expect(l.qkv.dtype).toBe('F32');
    expect(l.qkv.data.buffer).not.toBe(l.q.data.buffer);
    expect([...l.qkv.data.subarray(64 * 64, 2 * 64 * 64)]).toEqual([...storedToF32(l.k as StoredData)]);
    expect(w.layers[0]!.qkv.data.buffer).toBe(w.layers[0]!.q.data.buffer);
  });

  it('stackRows keeps a shared 16-bit dtype and refuses different widths', () => {
    const a = { dtype: 'BF16', data: Uint16Array.of(1, 2), rows: 1, cols: 2 } as const;
    const b = { dtype: 'BF16', data: Uint16Array.of(3, 4, 5, 6), rows: 2, cols: 2 } as const;
    expect(stackRows([a, b])).toEqual({ dtype: 'BF16', data: Uint16Array.of(1, 2, 3, 4, 5, 6), rows: 3, cols: 2 });
    expect(() => stackRows([a, { dtype: 'BF16', data: Uint16Array.of(1, 2, 3), rows: 1, cols: 3 }])).toThrow(RangeError);
  });

  it('stackRows puts Q8_0x16 groups back to back and refuses a part off the 16-row groups', () => {
    const group = (fill: number, rows: number) => ({ dtype: 'Q8_0x16', data: new Uint8Array(rows * 34).fill(fill), rows, cols: 32 }) as const;
    const s = stackRows([group(1, 16), group(2, 32)]);
    expect(s.dtype).toBe('Q8_0x16');
    expect(s.data).toBeInstanceOf(Uint8Array);
    expect([...s.data.subarray(16 * 34 - 1, 16 * 34 + 1)]).toEqual([1, 2]);
    expect(s.rows).toBe(48);
    expect(() => stackRows([group(1, 16), group(2, 8)])).toThrow(/whole groups of 16 rows/);
  });

  it('names a missing tensor', async () => {
    const { 'model.layers.1.self_attn.lambda_k2': _gone, ...rest } = tensors;
    expect(await loadError(checkpoint(rest))).toMatch(/missing tensor 'model\.layers\.1\.self_attn\.lambda_k2'/);
  });

  it('names an extra tensor', async () => {
    const extra = { ...tensors, 'model.layers.3.mlp.act_fn.bias': tensors['model.layers.0.mlp.act_fn.bias']! };
    expect(await loadError(checkpoint(extra))).toMatch(/unexpected tensor 'model\.layers\.3\.mlp\.act_fn\.bias'/);
  });

  it('names a mis-shaped tensor', async () => {
    const q = tensors['model.layers.2.self_attn.q_proj.weight']!;
    const bad = { ...tensors, 'model.layers.2.self_attn.q_proj.weight': { ...q, shape: [32, 128] } };
    expect(await loadError(checkpoint(bad))).toMatch(/'model\.layers\.2\.self_attn\.q_proj\.weight' has shape \[32, 128\], expected \[64, 64\]/);
  });

  it('skips rotary inv_freq and a tied lm_head', async () => {
    const src = checkpoint({
      ...tensors,
      'model.layers.0.self_attn.rotary_emb.inv_freq': { dtype: 'F32', data: new Float32Array(8), shape: [8] },
      'lm_head.weight': { dtype: 'F32', data: new Float32Array(384 * 64), shape: [384, 64] },
    });
    const w = await loadMotifWeights(src, await loadMotifConfig(src));
    expect(w.head).toBe(w.embed);
  });

  it('uses lm_head when embeddings are untied', async () => {
    const untied = JSON.stringify({ ...JSON.parse(configText), tie_word_embeddings: false });
    const src = checkpoint({ ...tensors, 'lm_head.weight': tensors['model.embed_tokens.weight']! }, { 'config.json': untied });
    const w = await loadMotifWeights(src, await loadMotifConfig(src));
    expect(w.head).not.toBe(w.embed);
    expect(await loadError(checkpoint(tensors, { 'config.json': untied }))).toMatch(/missing tensor 'lm_head\.weight'/);
  });

  it('reports absent files clearly', async () => {
    await expect(loadMotifConfig(memoryCheckpoint({}))).rejects.toThrow(/config\.json not found/);
    const src = memoryCheckpoint({ 'config.json': configText });
    expect(await loadError(src)).toMatch(/cannot open model\.safetensors/);
  });

  it.each([
    ['a shard path escaping the directory', { weight_map: { 'model.norm.weight': '../x.safetensors' } }, /must be relative/],
    [
      'tensors missing from the weight_map',
      { weight_map: { 'model.norm.weight': 'model.safetensors' } },
      /'model\.embed_tokens\.weight' is in model\.safetensors but .* maps it to nothing/,
    ],
    ['no weight_map', { metadata: {} }, /no valid weight_map/],
  ])('rejects an index with %s', async (_name, index, message) => {
    expect(await loadError(checkpoint(tensors, { 'model.safetensors.index.json': JSON.stringify(index) }))).toMatch(message);
  });
});

describe('sharded and 16-bit checkpoints on disk', () => {
  const dirs: string[] = [];
  const tempDir = (files: Record<string, string | Uint8Array>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'motif-ckpt-'));
    dirs.push(dir);
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    return dir;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('loads a 2-shard copy through model.safetensors.index.json and gives the golden logits', async () => {
    const names = Object.keys(tensors);
    const half = Math.ceil(names.length / 2);
    const shardOf = (i: number) => (i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors');
    const pick = (lo: number, hi: number) => Object.fromEntries(names.slice(lo, hi).map((n) => [n, tensors[n]!]));
    const dir = tempDir({
      'config.json': configText,
      'generation_config.json': genText,
      'model.safetensors.index.json': JSON.stringify({ metadata: { total_size: 0 }, weight_map: Object.fromEntries(names.map((n, i) => [n, shardOf(i)])) }),
      'model-00001-of-00002.safetensors': encodeSafetensors(pick(0, half)),
      'model-00002-of-00002.safetensors': encodeSafetensors(pick(half, names.length), { dataOrder: names.slice(half).reverse() }),
    });
    const model = await loadMotifModelDir(dir);
    const c = expected.cases[2]!;
    const [logits] = await model.forward([{ cache: model.createCache(64), ids: c.input_ids }]);
    let diff = 0;
    c.last_logits.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - logits![i]!))));
    expect(diff).toBeLessThan(1e-4);
  });

  it('keeps file access inside the checkpoint directory', async () => {
    const src = nodeCheckpoint(tempDir({ 'config.json': configText }));
    await expect(src.readText('../config.json')).rejects.toThrow(/escapes/);
    await expect(src.open('/etc/hostname')).rejects.toThrow(/escapes/);
    expect(await src.readText('absent.json')).toBeUndefined();
  });

  it('names the shard when the index and a shard disagree', async () => {
    const names = Object.keys(tensors);
    const dir = tempDir({
      'config.json': configText,
      'model.safetensors.index.json': JSON.stringify({ weight_map: Object.fromEntries(names.map((n) => [n, 'a.safetensors'])) }),
      'a.safetensors': encodeSafetensors(Object.fromEntries(names.slice(1).map((n) => [n, tensors[n]!]))),
    });
    const src = nodeCheckpoint(dir);
    await expect(loadMotifWeights(src, await loadMotifConfig(src))).rejects.toThrow(`tensor '${names[0]}' is listed for a.safetensors`);
  });

  it.each([
    ['BF16', f32ArrayToBf16],
    ['F16', f32ArrayToF16],
  ] as const)('keeps %s matrices in stored precision and computes exactly what f32 copies of them give', async (dtype, convert) => {
    const rounded = Object.entries(tensors).map(([n, t]) => [n, { dtype, data: convert(t.data as Float32Array), shape: t.shape } as Tensor] as const);
    const dir16 = tempDir({ 'config.json': configText, 'model.safetensors': encodeSafetensors(Object.fromEntries(rounded)) });
    // The same rounded values widened back to F32: any difference left is the 16-bit kernels' doing.
    const widened = rounded.map(([n, t]) => [n, { dtype: 'F32', data: storedToF32(t), shape: t.shape } as Tensor] as const);
    const dir32 = tempDir({ 'config.json': configText, 'model.safetensors': encodeSafetensors(Object.fromEntries(widened)) });
    const src = nodeCheckpoint(dir16);
    const w = await loadMotifWeights(src, await loadMotifConfig(src));
    expect(w.layers[0]!.q.dtype).toBe(dtype);
    expect(w.layers[0]!.q.data).toBeInstanceOf(Uint16Array);
    expect(w.embed.data).toBeInstanceOf(Uint16Array);
    expect(w.norm).toBeInstanceOf(Float32Array);
    const m16 = await loadMotifModelDir(dir16);
    const m32 = await loadMotifModelDir(dir32);
    for (const c of expected.cases) {
      const [l16] = await m16.forward([{ cache: m16.createCache(64), ids: c.input_ids }]);
      const [l32] = await m32.forward([{ cache: m32.createCache(64), ids: c.input_ids }]);
      let exact = 0;
      let golden = 0;
      c.last_logits.forEach((v, i) => {
        exact = Math.max(exact, Math.abs(l16![i]! - l32![i]!));
        golden = Math.max(golden, Math.abs(l16![i]! - v));
      });
      expect(exact).toBeLessThan(1e-5);
      // Rounding the weights moves the logits a little (more with BF16's 8-bit mantissa).
      expect(golden).toBeGreaterThan(0);
      expect(golden).toBeLessThan(dtype === 'BF16' ? 0.5 : 0.1);
    }
  });
});
