/**
 * Motif architecture settings for generated checkpoints: the zod schema (with the structural
 * rules the Motif forward pass relies on), the two presets, and the `config.json` /
 * `generation_config.json` documents with the real Motif keys.
 */
import { z } from 'zod';
import { type StorageDtype, TORCH_DTYPE } from './dtype.ts';

const posInt = z.number().int().positive();
const posNum = z.number().positive().finite();

const ArchFields = z.object({
  hidden_size: posInt,
  intermediate_size: posInt,
  num_hidden_layers: posInt,
  num_attention_heads: posInt,
  num_key_value_heads: posInt,
  /** Embedding rows; must be at least the tokenizer's size (extra rows are reserved tokens). */
  vocab_size: posInt,
  max_position_embeddings: posInt,
  rope_theta: posNum,
  rms_norm_eps: posNum,
  attn_rms_norm_eps: posNum,
});

/** A complete, structurally valid Motif architecture. */
export const MotifArch = ArchFields.strict().superRefine((a, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (a.hidden_size % a.num_attention_heads !== 0) issue('hidden_size', 'must be divisible by num_attention_heads');
  else if ((a.hidden_size / a.num_attention_heads) % 2 !== 0) issue('hidden_size', 'head_dim (hidden_size / num_attention_heads) must be even for RoPE');
  // Differential attention pairs adjacent physical heads; Motif 2.6B has no GQA (n_rep = 1).
  if (a.num_attention_heads % 2 !== 0) issue('num_attention_heads', 'must be even (differential heads pair up)');
  if (a.num_key_value_heads !== a.num_attention_heads) issue('num_key_value_heads', 'must equal num_attention_heads (Motif uses no GQA)');
});
export type MotifArch = z.infer<typeof MotifArch>;

/** Fields a caller may override on top of a preset. */
export const MotifArchOverrides = ArchFields.partial().strict();
export type MotifArchOverrides = z.infer<typeof MotifArchOverrides>;

export const PresetName = z.enum(['tiny', 'motif-2.6b']);
export type PresetName = z.infer<typeof PresetName>;

export interface Preset {
  /** Architecture without vocab_size when the tokenizer decides it. */
  arch: Omit<MotifArch, 'vocab_size'> & { vocab_size?: number };
  /** Tokens the BPE trainer aims for, special tokens included. */
  tokenizerVocab: number;
  dtype: StorageDtype;
  /** Fixed shard count, or a per-shard size limit that decides it. */
  shards: { count: number } | { maxBytes: number };
}

const COMMON = { rope_theta: 10_000, rms_norm_eps: 1e-6, attn_rms_norm_eps: 1e-5 } as const;

/** The presets: `tiny` is what `npm start` serves; `motif-2.6b` has the real dimensions (bench). */
export const PRESETS: Record<PresetName, Preset> = {
  tiny: {
    arch: {
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 3,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      max_position_embeddings: 2048,
      ...COMMON,
    },
    tokenizerVocab: 512,
    dtype: 'BF16',
    // Two shards so start-up exercises the sharded (index.json) and BF16 loading paths.
    shards: { count: 2 },
  },
  'motif-2.6b': {
    arch: {
      hidden_size: 2048,
      intermediate_size: 8192,
      num_hidden_layers: 32,
      num_attention_heads: 16,
      num_key_value_heads: 16,
      vocab_size: 219_520,
      max_position_embeddings: 16_384,
      ...COMMON,
    },
    tokenizerVocab: 512,
    dtype: 'BF16',
    shards: { maxBytes: 2_000_000_000 },
  },
};

export interface SpecialTokenIds {
  endOfText: number;
  imStart: number;
  imEnd: number;
}

/** Special tokens sit at the top of the vocabulary, as in the real model. */
export function specialTokenIds(vocabSize: number): SpecialTokenIds {
  return { endOfText: vocabSize - 3, imStart: vocabSize - 2, imEnd: vocabSize - 1 };
}

/** The `config.json` document (key set and order follow a Motif HF config). */
export function buildConfigJson(arch: MotifArch, dtype: StorageDtype): Record<string, unknown> {
  const ids = specialTokenIds(arch.vocab_size);
  return {
    architectures: ['MotifForCausalLM'],
    model_type: 'Motif',
    attention_dropout: 0.0,
    bos_token_id: ids.endOfText,
    eos_token_id: ids.imEnd,
    pad_token_id: ids.endOfText,
    hidden_act: 'poly_norm',
    hidden_size: arch.hidden_size,
    initializer_range: 0.02,
    intermediate_size: arch.intermediate_size,
    max_position_embeddings: arch.max_position_embeddings,
    num_attention_heads: arch.num_attention_heads,
    num_hidden_layers: arch.num_hidden_layers,
    num_key_value_heads: arch.num_key_value_heads,
    rms_norm_eps: arch.rms_norm_eps,
    attn_rms_norm_eps: arch.attn_rms_norm_eps,
    rope_scaling: null,
    rope_theta: arch.rope_theta,
    tie_word_embeddings: true,
    torch_dtype: TORCH_DTYPE[dtype],
    use_cache: true,
    vocab_size: arch.vocab_size,
  };
}

/** The `generation_config.json` document: eos is a list (end of turn first, then end of text). */
export function buildGenerationConfigJson(arch: MotifArch): Record<string, unknown> {
  const ids = specialTokenIds(arch.vocab_size);
  return { bos_token_id: ids.endOfText, eos_token_id: [ids.imEnd, ids.endOfText], pad_token_id: ids.endOfText, do_sample: false };
}
