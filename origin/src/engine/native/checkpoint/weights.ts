/**
 * Loading a Motif checkpoint directory (HF layout) through the `CheckpointSource` port:
 * config.json + generation_config.json, then a single `model.safetensors` or the shards named by
 * `model.safetensors.index.json`. Every tensor is checked against the shapes the config implies
 * (SPEC §2.8) and a missing, extra or mis-shaped tensor fails the load with its name.
 * Matrices stay in their stored precision; the small vectors (norm gains, λ, PolyNorm) are
 * widened to f32 because the forward pass reads them element by element.
 *
 * q/k/v and gate/up are fused at load (fused-weights.ts): each call of the kernel is a fork/join
 * of its threads and, when async, a thread hop, so a layer runs 4 matmuls instead of 7.
 */
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import type { WeightMatrix } from '../kernels/dtype.ts';
import { storedToF32, weightDataLength } from '../kernels/dtype.ts';
import type { CheckpointSource, OpenedFile } from './checkpoint-source.ts';
import type { MotifConfig } from './config.ts';
import { parseMotifConfig } from './config.ts';
import { fusedGroups, readFused, stackRows } from './fused-weights.ts';
import type { Tensor, TensorInfo } from './safetensors.ts';
import { readSafetensorsHeader, readTensor } from './safetensors.ts';

export { type CheckpointSource, memoryCheckpoint, type OpenedFile } from './checkpoint-source.ts';

export interface LayerWeights {
  readonly inputNorm: Float32Array;
  readonly q: WeightMatrix;
  readonly k: WeightMatrix;
  readonly v: WeightMatrix;
  readonly o: WeightMatrix;
  readonly lambdaQ1: Float32Array;
  readonly lambdaK1: Float32Array;
  readonly lambdaQ2: Float32Array;
  readonly lambdaK2: Float32Array;
  /** Sub-layer RMSNorm gain over 2·head_dim channels, shared by all differential heads. */
  readonly subln: Float32Array;
  readonly postNorm: Float32Array;
  readonly gate: WeightMatrix;
  readonly up: WeightMatrix;
  readonly down: WeightMatrix;
  /** [q; k; v] stacked row-wise (3·heads·head_dim × hidden); q, k and v are views of it when loaded. */
  readonly qkv: WeightMatrix;
  /** [gate; up] stacked row-wise (2·intermediate × hidden). */
  readonly gateUp: WeightMatrix;
  /** PolyNorm w₀ (cube), w₁ (square), w₂ (identity). */
  readonly polyWeight: Float32Array;
  readonly polyBias: number;
}

export interface MotifWeights {
  readonly embed: WeightMatrix;
  /** Output projection: the embedding itself when tied. */
  readonly head: WeightMatrix;
  readonly norm: Float32Array;
  readonly layers: readonly LayerWeights[];
}

function loadError(message: string): ApiError {
  return new ApiError('engine_unavailable', `Checkpoint: ${message}`);
}

async function readJson(src: CheckpointSource, path: string): Promise<unknown> {
  const text = await src.readText(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw loadError(`${path} is not valid JSON (${(err as Error).message})`);
  }
}

/** Read and validate config.json (required) and generation_config.json (optional). */
export async function loadMotifConfig(src: CheckpointSource): Promise<MotifConfig> {
  const config = await readJson(src, 'config.json');
  if (config === undefined) throw loadError('config.json not found');
  return parseMotifConfig(config, await readJson(src, 'generation_config.json'));
}

/** Tensor name → expected shape for a config (SPEC §2.8; lm_head only when untied). */
export function motifTensorShapes(c: MotifConfig): Map<string, readonly number[]> {
  const D = c.hidden_size;
  const A = c.num_attention_heads * c.head_dim;
  const I = c.intermediate_size;
  const m = new Map<string, readonly number[]>([
    ['model.embed_tokens.weight', [c.vocab_size, D]],
    ['model.norm.weight', [D]],
  ]);
  if (!c.tie_word_embeddings) m.set('lm_head.weight', [c.vocab_size, D]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    m.set(`${p}input_layernorm.weight`, [D]);
    for (const proj of ['q', 'k', 'v']) m.set(`${p}self_attn.${proj}_proj.weight`, [A, D]);
    m.set(`${p}self_attn.o_proj.weight`, [D, A]);
    for (const lam of ['lambda_q1', 'lambda_k1', 'lambda_q2', 'lambda_k2']) m.set(`${p}self_attn.${lam}`, [c.head_dim]);
    m.set(`${p}self_attn.subln.weight`, [2 * c.head_dim]);
    m.set(`${p}post_attention_layernorm.weight`, [D]);
    m.set(`${p}mlp.gate_proj.weight`, [I, D]);
    m.set(`${p}mlp.up_proj.weight`, [I, D]);
    m.set(`${p}mlp.down_proj.weight`, [D, I]);
    m.set(`${p}mlp.act_fn.weight`, [3]);
    m.set(`${p}mlp.act_fn.bias`, [1]);
  }
  return m;
}

const IndexFile = z.object({
  weight_map: z.record(z.string(), z.string()),
});

function checkShardPath(path: string): string {
  if (path === '' || path.startsWith('/') || path.includes('\\') || path.split('/').includes('..')) {
    throw loadError(`shard path '${path}' in model.safetensors.index.json must be relative and stay inside the checkpoint`);
  }
  return path;
}

// Tensors a checkpoint may carry that the forward pass does not use.
function isIgnorable(name: string, c: MotifConfig): boolean {
  return name.endsWith('rotary_emb.inv_freq') || (c.tie_word_embeddings && name === 'lm_head.weight');
}

/**
 * Load every tensor of a (possibly sharded) checkpoint into MotifWeights. Throws
 * ApiError('engine_unavailable') naming the tensor or file at fault.
 */
export async function loadMotifWeights(src: CheckpointSource, config: MotifConfig): Promise<MotifWeights> {
  const indexJson = await readJson(src, 'model.safetensors.index.json');
  let weightMap: Record<string, string> | undefined;
  if (indexJson !== undefined) {
    const parsed = IndexFile.safeParse(indexJson);
    if (!parsed.success) throw loadError('model.safetensors.index.json has no valid weight_map');
    weightMap = parsed.data.weight_map;
  }
  const shards = weightMap ? [...new Set(Object.values(weightMap))].map(checkShardPath) : ['model.safetensors'];
  const expected = motifTensorShapes(config);
  const found = new Map<string, { file: OpenedFile; info: TensorInfo }>();
  const files: OpenedFile[] = [];
  try {
    for (const shard of shards) {
      const file = await src.open(shard).catch((err: unknown) => {
        throw loadError(`cannot open ${shard} (${(err as Error).message})`);
      });
      files.push(file);
      const header = await readSafetensorsHeader(file);
      for (const info of header.tensors.values()) {
        const other = found.get(info.name);
        if (other) throw loadError(`tensor '${info.name}' appears in both ${other.file.name} and ${shard}`);
        if (weightMap && weightMap[info.name] !== shard) {
          throw loadError(`tensor '${info.name}' is in ${shard} but model.safetensors.index.json maps it to ${weightMap[info.name] ?? 'nothing'}`);
        }
        found.set(info.name, { file, info });
      }
    }
    for (const [name, shard] of Object.entries(weightMap ?? {})) {
      if (!found.has(name)) throw loadError(`tensor '${name}' is listed for ${shard} in model.safetensors.index.json but missing from it`);
    }
    for (const name of found.keys()) {
      if (!expected.has(name) && !isIgnorable(name, config))
        throw loadError(`unexpected tensor '${name}' (not part of a ${config.num_hidden_layers}-layer Motif model)`);
    }
    for (const [name, shape] of expected) {
      const hit = found.get(name);
      if (!hit) throw loadError(`missing tensor '${name}'`);
      const actual = hit.info.shape;
      if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
        throw loadError(`tensor '${name}' has shape [${actual.join(', ')}], expected [${shape.join(', ')}]`);
      }
    }
    const tensors = new Map<string, Tensor>();
    const fused = new Map<string, Tensor>();
    for (const group of fusedGroups(config)) {
      const parts = group.parts.map((name) => found.get(name)!);
      const f = await readFused(parts);
      if (!f) continue; // mixed dtypes: read one by one, fused by copying in assemble
      fused.set(group.name, f.fused);
      group.parts.forEach((name, i) => tensors.set(name, f.parts[i]!));
    }
    for (const name of expected.keys()) {
      if (!tensors.has(name)) {
        const hit = found.get(name)!;
        tensors.set(name, await readTensor(hit.file, hit.info));
      }
    }
    return assemble(tensors, fused, config);
  } finally {
    await Promise.allSettled(files.map((f) => f.close()));
  }
}

function assemble(t: Map<string, Tensor>, fused: Map<string, Tensor>, c: MotifConfig): MotifWeights {
  const get = (name: string): Tensor => t.get(name)!; // presence checked by the caller
  const asMatrix = (x: Tensor): WeightMatrix => ({ ...x, rows: x.shape[0]!, cols: x.shape[1]! }) as WeightMatrix;
  const matrix = (name: string): WeightMatrix => asMatrix(get(name));
  const group = (name: string, parts: WeightMatrix[]): WeightMatrix => {
    const f = fused.get(name);
    return f ? asMatrix(f) : stackRows(parts);
  };
  const vector = (name: string): Float32Array => storedToF32(get(name));
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const [q, k, v] = ['q', 'k', 'v'].map((x) => matrix(`${p}self_attn.${x}_proj.weight`)) as [WeightMatrix, WeightMatrix, WeightMatrix];
    const gate = matrix(`${p}mlp.gate_proj.weight`);
    const up = matrix(`${p}mlp.up_proj.weight`);
    layers.push({
      inputNorm: vector(`${p}input_layernorm.weight`),
      q,
      k,
      v,
      qkv: group(`${p}qkv`, [q, k, v]),
      o: matrix(`${p}self_attn.o_proj.weight`),
      lambdaQ1: vector(`${p}self_attn.lambda_q1`),
      lambdaK1: vector(`${p}self_attn.lambda_k1`),
      lambdaQ2: vector(`${p}self_attn.lambda_q2`),
      lambdaK2: vector(`${p}self_attn.lambda_k2`),
      subln: vector(`${p}self_attn.subln.weight`),
      postNorm: vector(`${p}post_attention_layernorm.weight`),
      gate,
      up,
      gateUp: group(`${p}gate_up`, [gate, up]),
      down: matrix(`${p}mlp.down_proj.weight`),
      polyWeight: vector(`${p}mlp.act_fn.weight`),
      polyBias: vector(`${p}mlp.act_fn.bias`)[0]!,
    });
  }
  const embed = matrix('model.embed_tokens.weight');
  return {
    embed,
    head: c.tie_word_embeddings ? embed : matrix('lm_head.weight'),
    norm: vector('model.norm.weight'),
    layers,
  };
}

// Weights from loadMotifWeights are already checked; this guards hand-built ones (tests, tools).
export function checkWeights(c: MotifConfig, w: MotifWeights): void {
  const A = c.num_attention_heads * c.head_dim;
  const bad = (what: string) => new ApiError('engine_unavailable', `Weights do not match config.json: ${what}`);
  if (w.layers.length !== c.num_hidden_layers) throw bad(`${w.layers.length} layers, expected ${c.num_hidden_layers}`);
  const dims = (m: WeightMatrix, rows: number, cols: number) => m.rows === rows && m.cols === cols && m.data.length === weightDataLength(m.dtype, rows, cols);
  if (!dims(w.embed, c.vocab_size, c.hidden_size) || !dims(w.head, c.vocab_size, c.hidden_size)) throw bad('embedding or head shape');
  w.layers.forEach((l, i) => {
    const ok =
      dims(l.q, A, c.hidden_size) &&
      dims(l.k, A, c.hidden_size) &&
      dims(l.v, A, c.hidden_size) &&
      dims(l.o, c.hidden_size, A) &&
      dims(l.gate, c.intermediate_size, c.hidden_size) &&
      dims(l.up, c.intermediate_size, c.hidden_size) &&
      dims(l.down, c.hidden_size, c.intermediate_size) &&
      dims(l.qkv, 3 * A, c.hidden_size) &&
      dims(l.gateUp, 2 * c.intermediate_size, c.hidden_size) &&
      l.subln.length === 2 * c.head_dim &&
      l.polyWeight.length === 3;
    if (!ok) throw bad(`layer ${i} has a mis-shaped tensor`);
  });
}
