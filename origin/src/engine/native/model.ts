/**
 * MotifModel: the Motif-2.6B forward pass (SPEC §2) over a KV cache, for a batch of sequences.
 *
 * All sequences of a `forward` call are stacked row-wise and every weight matrix is multiplied once
 * for all of them (decode is memory-bound: one pass over the weights serves the whole batch).
 * Long inputs are processed in chunks of at most `maxChunkRows` rows to bound activation memory;
 * the output head, the largest matrix, still runs once per call. Math lives in forward/ and
 * kernels/; this file validates inputs, plans chunks and owns the reusable buffers. The pass is
 * paced (forward/pacer.ts): with a kernel that can run matmuls off the JS thread, the event loop
 * gets a turn at least every `sliceMs` while a step computes.
 */
import type { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import type { SequenceCache } from './batching/kv-cache.ts';
import { KvCache } from './batching/kv-cache.ts';
import type { MotifConfig } from './checkpoint/config.ts';
import { quantizeWeights, type WeightsQuant } from './checkpoint/quantize-weights.ts';
import type { CheckpointSource, MotifWeights } from './checkpoint/weights.ts';
import { checkWeights, loadMotifConfig, loadMotifWeights } from './checkpoint/weights.ts';
import type { AttentionParams } from './forward/attention.ts';
import { AttentionScratch } from './forward/attention.ts';
import { lambdaFull, lambdaInit } from './forward/lambda.ts';
import type { LayerContext, Segment } from './forward/layer.ts';
import { runLayer } from './forward/layer.ts';
import { JS_NORMS, rmsNormRows } from './forward/norms.ts';
import { createPacer, defaultYieldTurn } from './forward/pacer.ts';
import { createRope } from './forward/rope.ts';
import { ForwardScratch } from './forward/scratch.ts';
import type { MatmulKernel } from './kernels/matmul.ts';
import { createJsKernel } from './kernels/matmul.ts';
import { type ForwardDebug, ModelOptions, type MotifModelOptions } from './model-options.ts';

export type { SequenceCache } from './batching/kv-cache.ts';
export type { MotifConfig } from './checkpoint/config.ts';

export type { ForwardDebug, MotifModelOptions } from './model-options.ts';

interface Item {
  readonly cache: KvCache;
  readonly ids: readonly number[];
}

interface ChunkSegment extends Segment {
  readonly item: number;
  /** Index of the segment's first row among all new rows of the call. */
  readonly flatRow: number;
  /** Whether the segment ends with the item's last id. */
  readonly last: boolean;
}

export class MotifModel {
  readonly config: MotifConfig;
  readonly eosTokenIds: readonly number[];
  /** Name of the matmul kernel in use (e.g. `native-avx2`, `js-scalar`). */
  readonly kernelName: string;
  /** Load-time quantisation of the linear layers (`none` or `q8`). */
  readonly weightsQuant: WeightsQuant;
  readonly #kernel: MatmulKernel;
  readonly #weights: MotifWeights;
  readonly #opts: z.infer<typeof ModelOptions>;
  readonly #ctx: LayerContext;
  readonly #attn: readonly AttentionParams[];
  #scratch: ForwardScratch | undefined;
  #finalRows = new Float32Array(0);
  #logits = new Float32Array(0);
  #queue: Promise<void> = Promise.resolve();

  private constructor(config: MotifConfig, weights: MotifWeights, opts: MotifModelOptions) {
    const parsed = ModelOptions.safeParse({
      maxChunkRows: opts.maxChunkRows,
      kvBlockTokens: opts.kvBlockTokens,
      sliceMs: opts.sliceMs,
      reuseLogits: opts.reuseLogits,
      weightsQuant: opts.weightsQuant,
    });
    if (!parsed.success) throw new RangeError(`Invalid MotifModel options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    this.#opts = parsed.data;
    if (opts.kernel !== undefined && (typeof opts.kernel.matmul !== 'function' || typeof opts.kernel.readRow !== 'function')) {
      throw new RangeError('Invalid MotifModel options: kernel must implement matmul and readRow');
    }
    checkWeights(config, weights);
    this.config = config;
    this.eosTokenIds = config.eos_token_ids;
    this.weightsQuant = this.#opts.weightsQuant;
    const kernel =
      opts.kernel ?? createJsKernel({ maxCols: Math.max(config.hidden_size, config.intermediate_size, config.num_attention_heads * config.head_dim) });
    this.kernelName = kernel.name;
    this.#kernel = kernel;
    this.#weights =
      this.#opts.weightsQuant === 'q8' ? quantizeWeights(weights, { quantize: kernel.quantizeQ8?.bind(kernel), pack: kernel.packQ8?.bind(kernel) }) : weights;
    this.#ctx = {
      config,
      pacer: createPacer(kernel, { sliceMs: this.#opts.sliceMs, now: opts.now ?? (() => performance.now()), yieldTurn: opts.yieldTurn ?? defaultYieldTurn }),
      rope: createRope(config.head_dim, config.rope_theta),
      attention: new AttentionScratch(),
      ...(kernel.attend ? { attend: kernel.attend.bind(kernel) } : {}),
      norms: kernel.norms ?? JS_NORMS,
    };
    this.#attn = weights.layers.map((l, i) => ({
      heads: config.num_attention_heads,
      headDim: config.head_dim,
      lambda: lambdaFull(i, l.lambdaQ1, l.lambdaK1, l.lambdaQ2, l.lambdaK2),
      lambdaInit: lambdaInit(i),
      subln: l.subln,
      eps: config.attn_rms_norm_eps,
    }));
  }

  /** Load from any CheckpointSource (a local directory through the Node adapter, memory, …). */
  static async loadFrom(src: CheckpointSource, opts: MotifModelOptions = {}): Promise<MotifModel> {
    const config = await loadMotifConfig(src);
    return new MotifModel(config, await loadMotifWeights(src, config), opts);
  }

  /** Build from weights already in memory (validated against the config's shapes). */
  static fromWeights(config: MotifConfig, weights: MotifWeights, opts: MotifModelOptions = {}): MotifModel {
    return new MotifModel(config, weights, opts);
  }

  /** λ of every layer (computed once at load; diagnostics and tests). */
  lambdas(): number[] {
    return this.#attn.map((a) => a.lambda);
  }

  /** A KV cache for one sequence of at most `capacityTokens` tokens (≤ max_position_embeddings). */
  createCache(capacityTokens: number): SequenceCache {
    const max = this.config.max_position_embeddings;
    if (!Number.isInteger(capacityTokens) || capacityTokens < 1 || capacityTokens > max) {
      throw new ApiError('invalid_request_error', `KV cache capacity must be an integer in [1, ${max}] (max_position_embeddings), got ${capacityTokens}`);
    }
    const layout = {
      layers: this.config.num_hidden_layers,
      width: this.config.num_attention_heads * this.config.head_dim,
      blockTokens: this.#opts.kvBlockTokens,
    };
    return new KvCache(layout, capacityTokens, this);
  }

  /** Bytes of KV cache one token occupies (K and V, every layer, f32). */
  kvBytesPerToken(): number {
    return 2 * this.config.num_hidden_layers * this.config.num_attention_heads * this.config.head_dim * 4;
  }

  /**
   * Append `ids` to each sequence (its cache grows by ids.length) and return, per sequence, the
   * logits (Float32Array(vocab)) of its last new position. All sequences run together: every
   * weight matrix is read once per call (rows of all sequences stacked). Inputs are validated
   * before any cache changes; a sequence that would outgrow its cache throws
   * ApiError('context_length_exceeded').
   */
  forward(batch: ReadonlyArray<{ cache: SequenceCache; ids: readonly number[] }>): Promise<Float32Array[]> {
    return this.#exclusive(async () => {
      const items = this.#check(batch);
      const V = this.config.vocab_size;
      const logits = await this.#run(items, false);
      return items.map((_, i) => logits.subarray(i * V, (i + 1) * V));
    });
  }

  /** Testing/debug: logits for every new position and the residual stream after embedding and each layer. */
  forwardDebug(cache: SequenceCache, ids: readonly number[]): Promise<ForwardDebug> {
    return this.#exclusive(() => this.#debug(cache, ids));
  }

  // Calls share the scratch buffers and yield mid-step, so they run one at a time, in call order.
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  async #debug(cache: SequenceCache, ids: readonly number[]): Promise<ForwardDebug> {
    const items = this.#check([{ cache, ids }]);
    const D = this.config.hidden_size;
    const V = this.config.vocab_size;
    const hidden: Float32Array[][] = Array.from({ length: this.config.num_hidden_layers + 1 }, () => []);
    const logits = await this.#run(items, true, (layer, x, rows) => {
      for (let r = 0; r < rows; r++) hidden[layer]!.push(x.slice(r * D, (r + 1) * D));
    });
    const finalNorm = ids.map((_, i) => this.#finalRows.slice(i * D, (i + 1) * D));
    return { logits: ids.map((_, i) => logits.slice(i * V, (i + 1) * V)), hidden, finalNorm };
  }

  #check(batch: ReadonlyArray<{ cache: SequenceCache; ids: readonly number[] }>): Item[] {
    if (batch.length === 0) throw new ApiError('invalid_request_error', 'forward needs at least one sequence');
    const V = this.config.vocab_size;
    const seen = new Set<KvCache>();
    return batch.map(({ cache, ids }, i) => {
      if (!(cache instanceof KvCache) || cache.owner !== this) throw new ApiError('internal_error', `Sequence ${i}: the cache was not created by this model`);
      if (seen.has(cache)) throw new ApiError('invalid_request_error', `Sequence ${i}: the same cache appears twice in one batch`);
      seen.add(cache);
      if (ids.length === 0) throw new ApiError('invalid_request_error', `Sequence ${i}: no token ids to process`);
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= V)
          throw new ApiError('invalid_request_error', `Sequence ${i}: token id ${id} is outside the vocabulary [0, ${V})`);
      }
      // The capacity is what the caller reserved (the engine checks the model's context before it
      // reserves), so running past it is a bug in the caller, not a request that is too long.
      const need = cache.length + ids.length;
      if (need > cache.capacity) {
        throw new ApiError(
          'internal_error',
          `Sequence ${i}: ${cache.length} cached + ${ids.length} new tokens exceed the ${cache.capacity} positions its KV cache was created for`,
        );
      }
      return { cache, ids };
    });
  }

  #scratchFor(rows: number): ForwardScratch {
    if (!this.#scratch || this.#scratch.rows < rows) {
      // Round up so a batch that grows by one sequence does not reallocate every step.
      const size = Math.min(this.#opts.maxChunkRows, 2 ** Math.ceil(Math.log2(rows)));
      this.#scratch = new ForwardScratch(this.config, Math.max(size, rows));
    }
    return this.#scratch;
  }

  // Run every item through the model; return logits [outRows, vocab] of the last row of each item
  // (or of every row when `all`). The normalised rows stay in #finalRows for forwardDebug.
  async #run(items: Item[], all: boolean, onHidden?: (layer: number, x: Float32Array, rows: number) => void): Promise<Float32Array> {
    const c = this.config;
    const D = c.hidden_size;
    const half = c.head_dim / 2;
    const total = items.reduce((n, it) => n + it.ids.length, 0);
    const outRows = all ? total : items.length;
    if (this.#finalRows.length < outRows * D) this.#finalRows = new Float32Array(outRows * D);
    const s = this.#scratchFor(Math.min(total, this.#opts.maxChunkRows));
    const { pacer, rope } = this.#ctx;
    const kernel = this.#kernel;
    const w = this.#weights;
    pacer.begin();

    let item = 0;
    let offset = 0;
    let flat = 0;
    while (item < items.length) {
      const segments: ChunkSegment[] = [];
      let rows = 0;
      while (rows < s.rows && item < items.length) {
        const it = items[item]!;
        const count = Math.min(it.ids.length - offset, s.rows - rows);
        const position = it.cache.length; // committed after every chunk, so this is the next position
        for (let i = 0; i < count; i++) {
          s.ids[rows + i] = it.ids[offset + i]!;
          s.positions[rows + i] = position + i;
        }
        segments.push({ cache: it.cache, row: rows, count, position, item, flatRow: flat, last: offset + count === it.ids.length });
        rows += count;
        flat += count;
        offset += count;
        if (offset === it.ids.length) {
          item++;
          offset = 0;
        }
      }
      for (let r = 0; r < rows; r++) {
        kernel.readRow(w.embed, s.ids[r]!, s.x, r * D);
        rope.angles(s.positions[r]!, s.cos, s.sin, r * half);
      }
      for (const seg of segments) seg.cache.reserve(seg.position + seg.count);
      onHidden?.(0, s.x, rows);
      for (let l = 0; l < c.num_hidden_layers; l++) {
        await runLayer(this.#ctx, l, w.layers[l]!, this.#attn[l]!, s, rows, segments);
        onHidden?.(l + 1, s.x, rows);
      }
      for (const seg of segments) {
        seg.cache.commit(seg.position + seg.count);
        if (all) {
          const src = s.x.subarray(seg.row * D, (seg.row + seg.count) * D);
          rmsNormRows(this.#finalRows.subarray(seg.flatRow * D), src, seg.count, D, w.norm, c.rms_norm_eps);
        } else if (seg.last) {
          const r = seg.row + seg.count - 1;
          rmsNormRows(this.#finalRows.subarray(seg.item * D), s.x.subarray(r * D, (r + 1) * D), 1, D, w.norm, c.rms_norm_eps);
        }
      }
    }
    const n = outRows * c.vocab_size;
    let logits: Float32Array;
    if (this.#opts.reuseLogits) {
      if (this.#logits.length < n) this.#logits = new Float32Array(n);
      logits = this.#logits.subarray(0, n);
    } else {
      logits = new Float32Array(n);
    }
    await pacer.matmul(logits, this.#finalRows, outRows, w.head);
    return logits;
  }
}
