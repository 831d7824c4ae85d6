/**
 * Deterministic random Motif checkpoints: the embedded default model (`tiny`) and the full-size
 * benchmark model (`motif-2.6b`), plus the pieces (safetensors writer, BPE trainer, tokenizer
 * files) for callers that need them separately.
 */

export { type BpeModel, trainByteLevelBpe } from './bpe-trainer.ts';
export { trainingCorpus } from './corpus/index.ts';
export { bf16ToNumber, f16ToNumber, StorageDtype, toBf16Bits, toF16Bits } from './dtype.ts';
export { type GeneratedModel, generateModel, STAMP_FILE } from './generate-model.ts';
export { MotifArch, MotifArchOverrides, PRESETS, PresetName, specialTokenIds } from './model-config.ts';
export { GENERATOR_FORMAT, GenerateModelOptions, resolveModelSpec } from './model-spec.ts';
export { buildShardIndex, shardFileName, splitIntoShards } from './safetensors-shards.ts';
export { type ByteSink, memorySink, planSafetensors, type SafetensorsPlan, type TensorSpec, writeSafetensors } from './safetensors-writer.ts';
export { buildTokenizerFiles, CHATML_TEMPLATE, SPECIAL_TOKENS } from './tokenizer-files.ts';
