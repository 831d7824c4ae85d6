/**
 * The native engine's `PromptEncoder` on Node: a worker thread with its own copy of the model's
 * tokenizer (the same tokenizer.json, the same config, the same tokenizers.js), so long prompts
 * are encoded while the main thread keeps stepping every other request's stream. One worker per
 * engine, encoding one text at a time in arrival order.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ApiError } from '#shared/errors.ts';
import type { PromptEncoder } from '../../../engine/native/text/prompt-encoder.ts';
import type { MotifTokenizer } from '../../../engine/native/text/tokenizer.ts';

// Plain JS, evaluated as the worker's script: a .ts worker file would need a loader in every
// runtime that imports this module (tsx, vitest, node).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// Below the main thread and the matmul kernels' threads: a long prompt may wait, the streams of
// running requests must not. On Linux a nice value set with pid 0 applies to this thread only.
if (workerData.nice > 0) { try { require('node:os').setPriority(workerData.nice); } catch {} }
const { Tokenizer } = require(workerData.library);
const json = JSON.parse(require('node:fs').readFileSync(workerData.tokenizerJson, 'utf8'));
const tokenizer = new Tokenizer(json, workerData.config);
parentPort.on('message', (m) => {
  try {
    const ids = Uint32Array.from(tokenizer.encode(m.text, { add_special_tokens: m.addSpecialTokens }).ids);
    parentPort.postMessage({ id: m.id, ids }, [ids.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

export interface TokenizerWorkerOptions {
  /** Nice value of the worker thread (Linux: per thread); default 5. */
  nice?: number;
}

interface Pending {
  resolve: (ids: number[]) => void;
  reject: (err: Error) => void;
}

/**
 * A worker encoding with `tokenizer`'s copy built from `dir`'s tokenizer.json. Started now (the
 * copy is built while the model loads); a worker that dies fails the encodes it held and is
 * replaced on the next one.
 */
export function startTokenizerWorker(dir: string, tokenizer: MotifTokenizer, opts: TokenizerWorkerOptions = {}): PromptEncoder {
  const workerData = {
    library: createRequire(import.meta.url).resolve('@huggingface/tokenizers'),
    tokenizerJson: join(dir, 'tokenizer.json'),
    config: tokenizer.libraryConfig,
    nice: opts.nice ?? 5,
  };
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let worker: Worker | undefined;
  let closed = false;
  // Idle, the worker must not keep the process alive; while an encode is awaited it must.
  const refresh = () => (pending.size > 0 ? worker?.ref() : worker?.unref());

  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const start = (): Worker => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData });
    w.on('message', (m: { id: number; ids?: Uint32Array; error?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      refresh();
      if (!p) return;
      if (m.ids) p.resolve(Array.from(m.ids));
      else p.reject(new ApiError('internal_error', `Tokenizing the prompt failed: ${m.error}`));
    });
    const died = (err: Error) => {
      if (worker !== w) return;
      worker = undefined;
      failAll(new ApiError('internal_error', `The tokenizer worker stopped: ${err.message}`, { cause: err }));
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`exit code ${code}`)));
    w.unref();
    return w;
  };
  worker = start();

  return {
    encode(text, encodeOpts) {
      if (closed) return Promise.reject(new ApiError('engine_unavailable', 'The engine is shut down.'));
      worker ??= start();
      const id = nextId++;
      const w = worker;
      return new Promise<number[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        refresh();
        w.postMessage({ id, text, addSpecialTokens: encodeOpts.addSpecialTokens ?? false });
      });
    },
    async close() {
      closed = true;
      const w = worker;
      worker = undefined;
      failAll(new ApiError('engine_unavailable', 'The engine is shut down.'));
      await w?.terminate();
    },
  };
}
