/**
 * Resolves generator options into a complete, validated description of the model directory —
 * architecture, dtype, shards with their tensors, tokenizer documents and the stamp that
 * identifies this generation — without touching the file system.
 */
import { z } from 'zod';
import { ApiError, fromZodError } from '#shared/errors.ts';
import { trainByteLevelBpe } from './bpe-trainer.ts';
import { trainingCorpus } from './corpus/index.ts';
import { StorageDtype } from './dtype.ts';
import { MotifArch, MotifArchOverrides, PRESETS, PresetName } from './model-config.ts';
import { hashString } from './prng.ts';
import { type Shard, shardCountFor, splitIntoShards } from './safetensors-shards.ts';
import { type ModelTensor, motifTensors } from './tensor-plan.ts';
import { buildTokenizerFiles, naturalVocabSize, type TokenizerFiles } from './tokenizer-files.ts';

/** Bump whenever the bytes produced for the same options change (weights init, file layout). */
export const GENERATOR_FORMAT = 1;

export const GenerateModelOptions = z
  .object({
    outDir: z.string().min(1),
    preset: PresetName,
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    dtype: StorageDtype.optional(),
    shards: z.number().int().min(1).max(10_000).optional(),
    overrides: MotifArchOverrides.optional(),
    onProgress: z.custom<(p: { bytes: number; totalBytes: number }) => void>((v) => typeof v === 'function', 'must be a function').optional(),
  })
  .strict();
export type GenerateModelOptions = z.input<typeof GenerateModelOptions>;

export interface ModelSpec {
  options: z.output<typeof GenerateModelOptions>;
  arch: MotifArch;
  dtype: StorageDtype;
  shards: Shard<ModelTensor>[];
  tensors: ModelTensor[];
  tokenizer: TokenizerFiles;
  /** Everything that determines the output bytes; equal stamps ⇒ identical directories. */
  stamp: Record<string, unknown>;
}

/**
 * Validate options and resolve the preset. Bad options throw an `ApiError`
 * (`invalid_request_error`) naming the offending field.
 */
export function resolveModelSpec(input: GenerateModelOptions): ModelSpec {
  const parsed = GenerateModelOptions.safeParse(input);
  if (!parsed.success) throw fromZodError(parsed.error);
  const options = parsed.data;
  const preset = PRESETS[options.preset];

  const bpe = trainByteLevelBpe({ documents: trainingCorpus(), vocabSize: preset.tokenizerVocab - 3 });
  const natural = naturalVocabSize(bpe);
  const archResult = MotifArch.safeParse({ ...preset.arch, vocab_size: preset.arch.vocab_size ?? natural, ...options.overrides });
  if (!archResult.success) {
    // Presets are valid, so a failure comes from an override: name it as such.
    const e = fromZodError(archResult.error);
    throw new ApiError('invalid_request_error', e.message.replace(/^Invalid '/, "Invalid 'overrides."), {
      param: e.param ? `overrides.${e.param}` : 'overrides',
    });
  }
  const arch = archResult.data;
  if (arch.vocab_size < natural) {
    throw new ApiError('invalid_request_error', `vocab_size ${arch.vocab_size} is smaller than the tokenizer (${natural} tokens)`, {
      param: 'overrides.vocab_size',
    });
  }

  const dtype = options.dtype ?? preset.dtype;
  const tensors = motifTensors(arch, dtype);
  const count = options.shards ?? ('count' in preset.shards ? preset.shards.count : shardCountFor(tensors, preset.shards.maxBytes));
  if (count > tensors.length)
    throw new ApiError('invalid_request_error', `shards must be at most ${tensors.length} (one tensor per shard)`, { param: 'shards' });
  const shards = splitIntoShards(tensors, count);
  const tokenizer = buildTokenizerFiles(bpe, arch.vocab_size, arch.max_position_embeddings);

  const stamp = {
    generator: 'motif-edge/model-gen',
    format: GENERATOR_FORMAT,
    preset: options.preset,
    seed: options.seed,
    dtype,
    shards: count,
    arch,
    // The tokenizer depends on the corpus and the trainer; hashing its merges catches changes to either.
    tokenizer: { size: arch.vocab_size, merges: hashString(JSON.stringify(bpe.merges)).toString(16).padStart(8, '0') },
  };
  return { options, arch, dtype, shards, tensors, tokenizer, stamp };
}

/** JSON with object keys sorted at every level, so stamps compare as strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
