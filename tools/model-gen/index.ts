/**
 * Deterministic random Motif checkpoints: the embedded default model (`tiny`) and the full-size
 * benchmark model (`motif-2.6b`), plus the pieces (safetensors writer, BPE trainer, tokenizer
 * files) for callers that need them separately.
 */
export { generateModel, STAMP_FILE, type GeneratedModel } from './generate-model.ts';
export { GenerateModelOptions, GENERATOR_FORMAT, resolveModelSpec } from './model-spec.ts';
export { PRESETS, PresetName, MotifArch, MotifArchOverrides, specialTokenIds } from './model-config.ts';
export { StorageDtype, toBf16Bits, toF16Bits, bf16ToNumber, f16ToNumber } from './dtype.ts';
export { planSafetensors, writeSafetensors, memorySink, type ByteSink, type TensorSpec, type SafetensorsPlan } from './safetensors-writer.ts';
export { splitIntoShards, buildShardIndex, shardFileName } from './safetensors-shards.ts';
export { trainByteLevelBpe, type BpeModel } from './bpe-trainer.ts';
export { buildTokenizerFiles, CHATML_TEMPLATE, SPECIAL_TOKENS } from './tokenizer-files.ts';
export { trainingCorpus } from './corpus/index.ts';
