/**
 * NativeEngine: the Engine port (../types.ts) over the TypeScript Motif forward pass. Prompts are
 * rendered (chat template) and tokenized here, then run by the continuous-batching Scheduler;
 * per-request sampling, text and events live in native-engine-request.ts. The model and tokenizer
 * loaders come from the composition root (the Node ones: adapters/node/engine/engine-loaders.ts),
 * so the engine core reads no files and loads no addon itself.
 */
import { z } from 'zod';
import { ApiError, fromZodError } from '#shared/errors.ts';
import type { PromptByteBounds } from '#shared/protocol.ts';
import type { Engine, EngineEvent, EngineInfo, EngineStats, GenerateRequest } from '../types.ts';
import { type BatchModel, Scheduler, type SchedulerStats } from './batching/scheduler.ts';
import { WeightsQuant } from './checkpoint/quantize-weights.ts';
import { GrammarCache } from './grammar/json-constraint.ts';
import { KernelMode } from './kernels/select-kernel.ts';
import { createGenerationJob, EventChannel, type RequestContext } from './native-engine-request.ts';
import { createSamplerWorkspace } from './sampling/sampler.ts';
import { noChatTemplateError } from './text/chat-template.ts';
import { encodePrompt, type PromptEncoder } from './text/prompt-encoder.ts';
import type { MotifTokenizer } from './text/tokenizer.ts';
import type { TokenizerBundle } from './text/tokenizer-bundle.ts';

/** Constructor options; bad values fail at construction with a message naming the field. */
export const NativeEngineOptionsSchema = z.strictObject({
  /** Local HF-style model directory (config.json, safetensors, tokenizer files). */
  modelDir: z.string().min(1),
  /** Public model id, e.g. `motif-2.6b`. */
  modelId: z.string().min(1),
  /** Weights revision served (manifest revision id), `local` for a plain directory. */
  revision: z.string().min(1).default('local'),
  /** Most sequences in the running batch. */
  maxRunning: z.number().int().min(1).max(4096).default(8),
  /** KV tokens all running sequences may reserve together; default: what kvBudgetBytes holds, at most maxRunning × context. */
  kvBudgetTokens: z.number().int().min(2).optional(),
  /**
   * Memory for the KV cache (running sequences and the prefix cache) when kvBudgetTokens is unset.
   * The prefix cache fills whatever budget it has, so this is a real memory ceiling, not a hint.
   */
  kvBudgetBytes: z
    .number()
    .int()
    .min(1 << 20)
    .default(4 * 1024 ** 3),
  /** Most requests waiting for a slot; beyond that generate() fails with `overloaded`. */
  maxQueue: z.number().int().min(0).max(1_000_000).default(64),
  /** Most prompt tokens prefilled per step (over all sequences), so long prompts cannot stall decodes. */
  prefillChunk: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .default(256),
  /** Reuse the KV blocks of earlier prompts' common prefixes (multi-turn chats, shared system prompts). */
  prefixCache: z.boolean().default(true),
  /** Matmul kernel of the default model loader: the native addon when it loads (`auto`), or forced (MOTIF_KERNELS). */
  kernels: KernelMode.default('auto'),
  /** Load-time quantisation of the linear layers of the default model loader: `none` or `q8` (MOTIF_WEIGHTS_QUANT). */
  weightsQuant: WeightsQuant.default('none'),
});
export type NativeEngineOptions = z.input<typeof NativeEngineOptionsSchema>;

/** What the engine needs from a loaded model (MotifModel satisfies it). */
export interface NativeModel extends BatchModel {
  readonly config: { readonly vocab_size: number; readonly max_position_embeddings: number };
  readonly eosTokenIds: readonly number[];
  /** KV bytes one cached token costs (sizes the default KV budget; test doubles may omit it). */
  kvBytesPerToken?(): number;
}

/** Loads the model in `dir` on the kernel `kernels` selects, quantised as `weightsQuant` says; `log` receives the lines naming both. */
export type ModelLoader = (dir: string, opts: { kernels: KernelMode; weightsQuant: WeightsQuant; log?: (line: string) => void }) => Promise<NativeModel>;
export type TokenizerLoader = (dir: string) => Promise<TokenizerBundle>;

/** Starts a PromptEncoder running `tokenizer`, which was loaded from `dir`. */
export type PromptEncoderStarter = (dir: string, tokenizer: MotifTokenizer) => PromptEncoder;

/** What a composition root supplies to load a model directory. */
export interface NativeEngineLoaders {
  loadModel: ModelLoader;
  loadTokenizer: TokenizerLoader;
  /** Where long prompts are tokenized, off the event loop; without one they are encoded inline. */
  startPromptEncoder?: PromptEncoderStarter;
}

export interface NativeEngineDeps extends Partial<NativeEngineLoaders> {
  /** Where the model loader says which kernel runs (default console.log). */
  log?: (line: string) => void;
}

interface Loaded {
  model: NativeModel;
  bundle: TokenizerBundle;
  encoder: PromptEncoder | undefined;
  scheduler: Scheduler;
  ctx: RequestContext;
  maxContext: number;
  maxPromptBytes: PromptByteBounds;
}

export class NativeEngine implements Engine {
  private readonly opts: z.infer<typeof NativeEngineOptionsSchema>;
  private readonly deps: NativeEngineDeps;
  private loaded: Loaded | undefined;
  private loading: Promise<void> | undefined;
  private closed = false;

  constructor(options: NativeEngineOptions, deps: NativeEngineDeps = {}) {
    const r = NativeEngineOptionsSchema.safeParse(options);
    if (!r.success) throw fromZodError(r.error);
    this.opts = r.data;
    this.deps = deps;
  }

  /**
   * Model id, revision, context length (0 until `load` resolved) and the prompt sizes that could
   * fit it. Quantised weights answer differently from the checkpoint's, so they are another
   * revision to everyone downstream (`<revision>+q8`): the edge's response cache, which keys on the
   * serving revision, never hands one's answer out as the other's, and the fingerprint says which.
   */
  info(): EngineInfo {
    const l = this.loaded;
    const quant = this.opts.weightsQuant;
    return {
      backend: 'native',
      model: this.opts.modelId,
      revision: quant === 'none' ? this.opts.revision : `${this.opts.revision}+${quant}`,
      maxContextTokens: l?.maxContext ?? 0,
      ...(l ? { maxPromptBytes: l.maxPromptBytes } : {}),
    };
  }

  /** Load weights and tokenizer; idempotent. */
  load(): Promise<void> {
    this.loading ??= this.doLoad();
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    const { loadModel, loadTokenizer, log } = this.deps;
    if (!loadModel || !loadTokenizer) throw new ApiError('engine_unavailable', 'The native engine was built without a model or tokenizer loader.');
    const [model, bundle] = await Promise.all([
      loadModel(this.opts.modelDir, { kernels: this.opts.kernels, weightsQuant: this.opts.weightsQuant, ...(log ? { log } : {}) }),
      loadTokenizer(this.opts.modelDir),
    ]);
    const context = model.config.max_position_embeddings;
    const kvBudgetTokens =
      this.opts.kvBudgetTokens ?? Math.max(2, Math.min(this.opts.maxRunning * context, Math.floor(this.opts.kvBudgetBytes / (model.kvBytesPerToken?.() ?? 1))));
    const scheduler = new Scheduler(
      model,
      {
        maxRunning: this.opts.maxRunning,
        kvBudgetTokens,
        maxQueue: this.opts.maxQueue,
        prefillChunk: this.opts.prefillChunk,
        prefixCache: this.opts.prefixCache,
      },
      {
        // Faults the scheduler survives (a request failed alone, or an in-process restart): operators need the cause.
        onFault: (err) =>
          (this.deps.log ?? console.error)(
            `engine: internal fault survived (${this.opts.modelId}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
          ),
      },
    );
    // The budget is counted in whole KV blocks.
    const maxContext = Math.min(context, scheduler.maxSequenceTokens);
    this.loaded = {
      model,
      bundle,
      encoder: this.deps.startPromptEncoder?.(this.opts.modelDir, bundle.tokenizer),
      scheduler,
      maxContext,
      maxPromptBytes: promptByteBounds(bundle, maxContext),
      ctx: {
        tokenizer: bundle.tokenizer,
        eosTokenIds: new Set(model.eosTokenIds),
        workspace: createSamplerWorkspace(model.config.vocab_size),
        grammars: new GrammarCache(bundle.tokenizer, model.eosTokenIds, model.config.vocab_size),
      },
    };
  }

  /**
   * Stream one request: `start` (once admitted into the batch, with the prompt tokens served from
   * the prefix cache), `delta`*, `finish`. Admission errors (context length, overload, bad prompt,
   * not loaded) reject the first `next()`; a request aborted while still queued yields only
   * `finish` (abort). Leaving the loop early aborts the request.
   */
  async *generate(req: GenerateRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    const l = this.loaded;
    if (this.closed) throw new ApiError('engine_unavailable', 'The engine is shut down.');
    if (!l) throw new ApiError('engine_unavailable', 'The model is not loaded yet.', { retryAfter: 5 });
    const promptIds = await this.promptIds(l, req);
    if (this.closed) throw new ApiError('engine_unavailable', 'The engine is shut down.');
    if (promptIds.length >= l.maxContext) {
      throw new ApiError(
        'context_length_exceeded',
        `This model's maximum context length is ${l.maxContext} tokens, but the prompt has ${promptIds.length} tokens; no room is left for the completion.`,
        { param: req.prompt.kind === 'chat' ? 'messages' : 'prompt' },
      );
    }
    if (req.maxTokens !== undefined && (!Number.isInteger(req.maxTokens) || req.maxTokens < 1)) {
      throw new ApiError('invalid_request_error', 'max_tokens must be a positive integer.', { param: 'max_tokens' });
    }
    if (req.topLogprobs !== undefined && (!Number.isInteger(req.topLogprobs) || req.topLogprobs < 0 || req.topLogprobs > 20)) {
      throw new ApiError('invalid_request_error', 'top_logprobs must be an integer in [0, 20].', { param: 'top_logprobs' });
    }
    // The budget is capped by the context: a too-large max_tokens ends with 'length' at the limit.
    const maxNew = Math.min(req.maxTokens ?? Infinity, l.maxContext - promptIds.length);
    const cancel = new AbortController();
    const events = new EventChannel<EngineEvent>();
    l.scheduler.submit(createGenerationJob(l.ctx, req, promptIds, maxNew, AbortSignal.any([signal, cancel.signal]), events));
    let finished = false;
    try {
      for await (const e of events) {
        if (e.type === 'finish') finished = true;
        yield e;
      }
    } finally {
      if (!finished) cancel.abort(); // consumer stopped early: free the slot
    }
  }

  private async promptIds(l: Loaded, req: GenerateRequest): Promise<number[]> {
    const p = req.prompt;
    if (p.kind === 'ids') {
      const V = l.model.config.vocab_size;
      const bad = p.ids.find((id) => !Number.isInteger(id) || id < 0 || id >= V);
      if (bad !== undefined) throw new ApiError('invalid_request_error', `Token id ${bad} is outside the vocabulary [0, ${V}).`, { param: 'prompt' });
      if (p.ids.length === 0) throw new ApiError('invalid_request_error', 'The prompt is empty.', { param: 'prompt' });
      return p.ids;
    }
    const tok = l.bundle.tokenizer;
    // Refused by size before tokenizing: tokenizing megabytes takes seconds. The same bound as the
    // one advertised (promptByteBounds), so the edge refuses only what this would.
    const refuseIfSurelyTooLong = (text: string, param: string) => {
      const min = tok.minTokens(text);
      if (min >= l.maxContext) {
        throw new ApiError('context_length_exceeded', `This model's maximum context length is ${l.maxContext} tokens; the prompt holds at least ${min}.`, {
          param,
        });
      }
    };
    if (p.kind === 'text') {
      refuseIfSurelyTooLong(p.text, 'prompt');
      const ids = await encodePrompt(tok, l.encoder, p.text, { addSpecialTokens: true });
      if (ids.length === 0) throw new ApiError('invalid_request_error', 'The prompt is empty.', { param: 'prompt' });
      return ids;
    }
    if (!l.bundle.chatTemplate) throw noChatTemplateError(this.opts.modelId);
    const rendered = l.bundle.chatTemplate.render(p.messages, { addGenerationPrompt: true, ...(req.tools ? { tools: req.tools.tools } : {}) });
    refuseIfSurelyTooLong(rendered, 'messages');
    // The template already places every special token; the post-processor must not add more.
    return encodePrompt(tok, l.encoder, rendered, { addSpecialTokens: false });
  }

  /** Stop admitting; resolves once queued and running requests have finished. */
  async drain(): Promise<void> {
    await this.loaded?.scheduler.drain();
  }

  stats(): EngineStats {
    const s = this.loaded?.scheduler.stats();
    return {
      waiting: s?.waiting ?? 0,
      running: s?.running ?? 0,
      maxRunning: this.opts.maxRunning,
      kvUsage: s?.kvUsage ?? 0,
      tokensPerSecond: s?.tokensPerSecond ?? 0,
      promptTokensTotal: s?.promptTokensTotal ?? 0,
      generationTokensTotal: s?.generationTokensTotal ?? 0,
      prefixCacheQueries: s?.prefixCacheQueries ?? 0,
      prefixCacheHits: s?.prefixCacheHits ?? 0,
    };
  }

  /** Scheduler internals (steps, cached blocks, budget) for diagnostics and tests; undefined before load. */
  schedulerStats(): SchedulerStats | undefined {
    return this.loaded?.scheduler.stats();
  }

  /** Fail outstanding requests and release the model. */
  async close(): Promise<void> {
    this.closed = true;
    await this.loaded?.scheduler.close();
    await this.loaded?.encoder?.close();
    this.loaded = undefined;
  }
}

/**
 * The longest prompt text that could fit `maxContext`, by field: a completions prompt is the text
 * encoded, so its bound is the tokenizer's; a chat's contents are part of the rendered text only
 * when the template keeps them whole, and then the same bound holds for them together.
 */
export function promptByteBounds(bundle: TokenizerBundle, maxContext: number): PromptByteBounds {
  const bytes = bundle.tokenizer.maxBytesBelow(maxContext);
  if (bytes === undefined) return {};
  return bundle.chatTemplate?.keepsContents() ? { prompt: bytes, messages: bytes } : { prompt: bytes };
}
