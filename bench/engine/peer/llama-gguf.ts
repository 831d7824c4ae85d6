/**
 * A llama.cpp checkpoint with Motif 2.6B's dimensions, for `bench:engine -- --peer`: the same
 * hidden size, layers, heads, MLP width and vocabulary (the bench checkpoint's own tokenizer), so
 * a decode step reads the same bytes of weights as ours. llama.cpp has no Motif architecture
 * (differential attention, PolyNorm), so it is a llama: the matmuls, which are the cost, have the
 * same shapes; the attention and activation arithmetic differs a little. Weights are random F16
 * (a seeded stream, never loaded from anywhere), norms 1; written once next to the bench
 * checkpoint and reused while its size matches.
 */
import { createWriteStream, existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { fillU32, streamState } from '../../../tools/model-gen/prng.ts';
import { type GgufTensor, type GgufValue, ggufHeader, Q8_0_BLOCK, tensorBytes, tensorLayout } from './gguf.ts';

export interface LlamaDims {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  vocab: number;
  ropeTheta: number;
  rmsEps: number;
  contextLength: number;
}

/** The dims of a Motif config.json. */
export function dimsOfMotifConfig(c: Record<string, unknown>): LlamaDims {
  const n = (k: string) => {
    const v = c[k];
    if (typeof v !== 'number') throw new Error(`config.json: ${k} is not a number`);
    return v;
  };
  return {
    hidden: n('hidden_size'),
    layers: n('num_hidden_layers'),
    heads: n('num_attention_heads'),
    kvHeads: n('num_key_value_heads'),
    ffn: n('intermediate_size'),
    vocab: n('vocab_size'),
    ropeTheta: n('rope_theta'),
    rmsEps: n('rms_norm_eps'),
    contextLength: n('max_position_embeddings'),
  };
}

/** Weight formats of the peer checkpoint: llama.cpp's F16, or its Q8_0 (the format of our 8-bit weights). */
export type PeerWeights = 'f16' | 'q8_0';

/** The tensors of a llama with tied embeddings (no output.weight: llama.cpp reuses token_embd). */
export function llamaTensors(d: LlamaDims, weights: PeerWeights = 'f16'): GgufTensor[] {
  const kv = (d.hidden / d.heads) * d.kvHeads;
  const w = weights;
  const t: GgufTensor[] = [{ name: 'token_embd.weight', dims: [d.hidden, d.vocab], type: w }];
  for (let i = 0; i < d.layers; i++) {
    const b = `blk.${i}`;
    t.push(
      { name: `${b}.attn_norm.weight`, dims: [d.hidden], type: 'f32' },
      { name: `${b}.attn_q.weight`, dims: [d.hidden, d.hidden], type: w },
      { name: `${b}.attn_k.weight`, dims: [d.hidden, kv], type: w },
      { name: `${b}.attn_v.weight`, dims: [d.hidden, kv], type: w },
      { name: `${b}.attn_output.weight`, dims: [d.hidden, d.hidden], type: w },
      { name: `${b}.ffn_norm.weight`, dims: [d.hidden], type: 'f32' },
      { name: `${b}.ffn_gate.weight`, dims: [d.hidden, d.ffn], type: w },
      { name: `${b}.ffn_up.weight`, dims: [d.hidden, d.ffn], type: w },
      { name: `${b}.ffn_down.weight`, dims: [d.ffn, d.hidden], type: w },
    );
  }
  t.push({ name: 'output_norm.weight', dims: [d.hidden], type: 'f32' });
  return t;
}

interface HfTokenizer {
  model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens?: { id: number; content: string }[];
}

/** The metadata llama.cpp needs: architecture, dims, and the bench checkpoint's BPE vocabulary. */
export function llamaMetadata(d: LlamaDims, tokenizer: HfTokenizer, special: { bos: number; eos: number }): Map<string, GgufValue> {
  const tokens = Array.from({ length: d.vocab }, (_, i) => `<unused${i}>`);
  const types = Array.from({ length: d.vocab }, () => 1);
  for (const [text, id] of Object.entries(tokenizer.model.vocab)) if (id < d.vocab) tokens[id] = text;
  for (const a of tokenizer.added_tokens ?? []) {
    if (a.id >= d.vocab) continue;
    tokens[a.id] = a.content;
    types[a.id] = 3;
  }
  const u32 = (value: number): GgufValue => ({ type: 'u32', value });
  return new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'motif-dims-random-f16' }],
    ['llama.context_length', u32(d.contextLength)],
    ['llama.embedding_length', u32(d.hidden)],
    ['llama.block_count', u32(d.layers)],
    ['llama.feed_forward_length', u32(d.ffn)],
    ['llama.attention.head_count', u32(d.heads)],
    ['llama.attention.head_count_kv', u32(d.kvHeads)],
    ['llama.rope.dimension_count', u32(d.hidden / d.heads)],
    ['llama.rope.freq_base', { type: 'f32', value: d.ropeTheta }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: d.rmsEps }],
    ['llama.vocab_size', u32(d.vocab)],
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'default' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
    ['tokenizer.ggml.merges', { type: 'string[]', value: tokenizer.model.merges.map((m) => (typeof m === 'string' ? m : m.join(' '))) }],
    ['tokenizer.ggml.bos_token_id', u32(special.bos)],
    ['tokenizer.ggml.eos_token_id', u32(special.eos)],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
  ]);
}

/**
 * Random F16 weights in ±[2⁻⁷, 2⁻⁶) with a random sign (finite, no subnormals), norms 1.
 * A 32-bit draw gives two halves.
 */
function fillTensor(t: GgufTensor, seed: number, out: Buffer): void {
  if (t.type === 'f32') {
    for (let i = 0; i < out.length; i += 4) out.writeFloatLE(1, i);
    return;
  }
  const words = new Uint32Array(out.buffer, out.byteOffset, Math.floor(out.length / 4));
  fillU32(streamState(seed, t.name), words);
  if (t.type === 'q8_0') {
    // Random int8 weights; each block's f16 scale positive in [2⁻¹⁴, 2⁻¹³) so d·q stays below 0.02.
    for (let b = 0; b + Q8_0_BLOCK.bytes <= out.length; b += Q8_0_BLOCK.bytes) out.writeUInt16LE(0x0400 | (out[b]! & 0x3ff), b);
    return;
  }
  // Keep sign and mantissa of each half, force the exponent to 8 (2⁻⁷).
  for (let i = 0; i < words.length; i++) words[i] = (words[i]! & 0x83ff83ff) | 0x20002000;
}

const CHUNK = 64 * 1024 * 1024;

/** Write the GGUF at `file` unless one of the right size is there; returns its size in bytes. */
export async function writeLlamaGguf(
  file: string,
  d: LlamaDims,
  tokenizerFile: string,
  special: { bos: number; eos: number },
  weights: PeerWeights = 'f16',
  seed = 7,
): Promise<number> {
  const tensors = llamaTensors(d, weights);
  const header = ggufHeader(llamaMetadata(d, JSON.parse(readFileSync(tokenizerFile, 'utf8')) as HfTokenizer, special), tensors);
  const { offsets, dataBytes } = tensorLayout(tensors);
  const size = header.length + dataBytes;
  if (existsSync(file) && statSync(file).size === size) return size;
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp);
  const write = (b: Buffer) => (out.write(b) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write(header);
  let at = 0;
  for (const [i, t] of tensors.entries()) {
    if (offsets[i]! > at) await write(Buffer.alloc(offsets[i]! - at));
    const bytes = tensorBytes(t);
    // Chunks of one tensor come from one stream: fill the whole tensor chunk by chunk.
    const chunk = t.type === 'q8_0' ? CHUNK - (CHUNK % Q8_0_BLOCK.bytes) : CHUNK;
    const buf = Buffer.alloc(Math.min(bytes, chunk));
    for (let done = 0; done < bytes; done += buf.length) {
      const n = Math.min(buf.length, bytes - done);
      const slice = buf.subarray(0, n);
      fillTensor(t, seed + done, slice);
      await write(Buffer.from(slice));
    }
    at = offsets[i]! + bytes;
  }
  if (dataBytes > at) await write(Buffer.alloc(dataBytes - at));
  out.end();
  await finished(out);
  renameSync(tmp, file);
  return size;
}
