/**
 * The Node loaders of the native engine, handed to NativeEngine (through the engine registry) by
 * the composition roots: the model from a local checkpoint directory on the kernel `selectNodeKernel`
 * picks, the tokenizer from the same directory, and a worker thread that tokenizes long prompts.
 * The engine core never imports file-system, addon or thread code itself.
 */
import { MotifModel, type MotifModelOptions } from '../../../engine/native/model.ts';
import type { ModelLoader, NativeEngineLoaders } from '../../../engine/native/native-engine.ts';
import { nodeCheckpoint } from './checkpoint-dir.ts';
import { selectNodeKernel } from './node-kernels.ts';
import { loadTokenizerDir } from './tokenizer-files.ts';
import { startTokenizerWorker } from './tokenizer-worker.ts';

/** Load a local HF-style Motif directory: config.json (+ generation_config.json) and (sharded) safetensors. */
export function loadMotifModelDir(dir: string, opts: MotifModelOptions = {}): Promise<MotifModel> {
  return MotifModel.loadFrom(nodeCheckpoint(dir), opts);
}

// The kernel chosen by selectNodeKernel, logits reused between steps (the scheduler consumes them
// before the next forward call).
const loadModel: ModelLoader = (dir, { kernels, weightsQuant, log }) => {
  const { kernel } = selectNodeKernel({ mode: kernels, ...(log ? { log } : {}) });
  if (weightsQuant === 'q8') (log ?? console.log)('weights: linear layers quantised to Q8_0 at load (MOTIF_WEIGHTS_QUANT=q8)');
  return loadMotifModelDir(dir, { kernel, reuseLogits: true, weightsQuant });
};

/** Model and tokenizer loaders over the local file system; long prompts are tokenized in a worker thread. */
export function nodeEngineLoaders(): NativeEngineLoaders {
  return { loadModel, loadTokenizer: loadTokenizerDir, startPromptEncoder: (dir, tokenizer) => startTokenizerWorker(dir, tokenizer) };
}
