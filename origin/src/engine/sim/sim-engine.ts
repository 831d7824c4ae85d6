/**
 * SimEngine: the Engine port backed by a latency model instead of a model, for load tests (never
 * a default). A step loop on the injected clock runs continuous batching up to `maxRunning`: each
 * step admits waiting requests whose KV blocks fit (prefix-cache hits skip their prefill), sleeps
 * for the step's modelled duration, then gives every running sequence one token. Stats, drain,
 * close and admission errors behave as the native engine's, so heartbeats, /metrics and the
 * edge's routing see a replica they cannot tell apart from a real one; faults are injected on demand.
 */
import { ApiError } from '#shared/errors.ts';
import { retryAfterSeconds, TokenRate } from '../native/batching/token-rate.ts';
import { createPrng, type Prng } from '../native/sampling/prng.ts';
import type { Engine, EngineEvent, EngineInfo, EngineStats, GenerateRequest } from '../types.ts';
import { BLOCK_TOKENS, KvBlockBudget, stepMs } from './latency-model.ts';
import { parseSimOptions, type ResolvedSimOptions } from './options.ts';
import { PrefixLru } from './prefix-lru.ts';
import { maxPromptBytesBelow, simPrompt } from './prompt-tokens.ts';
import { SimSequence } from './sim-sequence.ts';

/** Time as the simulator sees it; tests pass a fake one so a minute of load runs in milliseconds. */
export interface SimClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: SimClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** How far behind its schedule the step loop may fall before it stops catching up (CPU starvation). */
const MAX_LAG_MS = 50;
/** Most steps run without yielding to timers and I/O while catching up. */
const MAX_BACK_TO_BACK = 16;

export interface SimEngineDeps {
  clock?: SimClock;
}

export class SimEngine implements Engine {
  readonly options: ResolvedSimOptions;
  readonly #clock: SimClock;
  readonly #faults: Prng;
  readonly #kv: KvBlockBudget;
  readonly #prefix: PrefixLru;
  readonly #rate = new TokenRate();
  readonly #waiting: SimSequence[] = [];
  readonly #running: SimSequence[] = [];
  #loop: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  #draining = false;
  #closed = false;
  #promptTokensTotal = 0;
  #generationTokensTotal = 0;

  /** Validates `options` (SimEngineOptionsSchema); throws ApiError naming a bad field. */
  constructor(options: unknown, deps: SimEngineDeps = {}) {
    this.options = parseSimOptions(options);
    this.#clock = deps.clock ?? realClock;
    this.#faults = createPrng(this.options.faultSeed);
    this.#kv = new KvBlockBudget(Math.floor(this.options.kvBudgetTokens / BLOCK_TOKENS));
    this.#prefix = new PrefixLru(this.options.prefixCacheBlocks);
  }

  info(): EngineInfo {
    const bytes = maxPromptBytesBelow(this.options.maxContextTokens);
    return {
      backend: 'sim',
      model: this.options.modelId,
      revision: this.options.revision,
      maxContextTokens: this.options.maxContextTokens,
      maxPromptBytes: { prompt: bytes, messages: bytes },
    };
  }

  /** Nothing to load: the simulator ignores the weights. */
  async load(): Promise<void> {}

  /**
   * Stream one request: `start` on admission, one `delta` per step, `finish`. Refusals (closed,
   * draining, bad max_tokens, empty or too long prompt, injected faults, full queue) reject the
   * first `next()`. Leaving the loop early aborts the request.
   */
  async *generate(req: GenerateRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    const seq = this.admitOrThrow(req, signal);
    let finished = false;
    try {
      for await (const e of seq.events) {
        if (e.type === 'finish') finished = true;
        yield e;
      }
    } finally {
      // The consumer stopped early: the sequence leaves the batch at the next step.
      if (!finished) seq.cancel.abort();
    }
  }

  private admitOrThrow(req: GenerateRequest, signal: AbortSignal): SimSequence & { cancel: AbortController } {
    if (this.#closed) throw new ApiError('engine_unavailable', 'The engine is shut down.');
    if (this.#draining) throw new ApiError('engine_unavailable', 'The engine is draining.', { retryAfter: 1 });
    if (req.maxTokens !== undefined && (!Number.isInteger(req.maxTokens) || req.maxTokens < 1)) {
      throw new ApiError('invalid_request_error', 'max_tokens must be a positive integer.', { param: 'max_tokens' });
    }
    // Its filler text is not JSON: refusing beats answering a different question.
    if (req.responseFormat)
      throw new ApiError('invalid_request_error', 'response_format is not supported by the simulated engine.', { param: 'response_format' });
    if (req.tools && req.tools.choice !== 'auto')
      throw new ApiError('invalid_request_error', 'A forced tool_choice is not supported by the simulated engine.', { param: 'tool_choice' });
    const param = req.prompt.kind === 'chat' ? 'messages' : 'prompt';
    const prompt = simPrompt(req.prompt);
    if (prompt.tokens === 0) throw new ApiError('invalid_request_error', 'The prompt is empty.', { param });
    const maxContext = this.options.maxContextTokens;
    if (prompt.tokens >= maxContext) {
      throw new ApiError(
        'context_length_exceeded',
        `This model's maximum context length is ${maxContext} tokens, but the prompt has ${prompt.tokens} tokens; no room is left for the completion.`,
        { param },
      );
    }
    const o = this.options;
    // Independent dice, in a fixed order, so a seeded run injects the same faults every time.
    const refuse = this.#faults.next() < o.refuseRate;
    const fail = this.#faults.next() < o.errorRate;
    if (refuse) throw new ApiError('overloaded', 'Simulated engine fault: request refused (refuseRate).', { retryAfter: 1 });
    if (fail) throw new ApiError('internal_error', 'Simulated engine fault: request failed (errorRate).');
    // Waiting for a free slot is not queueing: only requests beyond the free slots count against maxQueue.
    if (this.#waiting.length - (o.maxRunning - this.#running.length) >= o.maxQueue) {
      const backlog = [...this.#waiting, ...this.#running].reduce((n, s) => n + s.remaining, 0);
      throw new ApiError('overloaded', `The engine is overloaded: ${this.#waiting.length} requests are waiting.`, {
        retryAfter: retryAfterSeconds(backlog, this.#rate.perSecond(this.#clock.now())),
      });
    }
    const cancel = new AbortController();
    const seq = Object.assign(
      new SimSequence(req, prompt, AbortSignal.any([signal, cancel.signal]), {
        maxNew: Math.min(req.maxTokens ?? Infinity, maxContext - prompt.tokens),
        meanOutputTokens: o.meanOutputTokens,
        dieAfterTokens: o.dieAfterTokens,
      }),
      { cancel },
    );
    this.#waiting.push(seq);
    this.kick();
    return seq;
  }

  private kick(): void {
    this.#loop ??= this.run()
      .catch((err: unknown) => {
        for (const s of [...this.#waiting.splice(0), ...this.#running.splice(0)]) s.fail(err);
      })
      .finally(() => {
        this.#loop = undefined;
        if (this.hasWork() && !this.#closed) this.kick();
        else this.settleIdle();
      });
  }

  private hasWork(): boolean {
    return this.#waiting.length > 0 || this.#running.length > 0;
  }

  // The loop lives while there is work, so an idle engine holds no timer.
  private async run(): Promise<void> {
    // Requests arriving in the same tick share the first step.
    await Promise.resolve();
    const clock = this.#clock;
    // Steps keep to a schedule rather than each sleeping its own duration: timers fire late (at
    // best to the millisecond), and at high `speed` a step is shorter than that. A late step is
    // made up by running the next ones early, back to back, up to MAX_LAG_MS behind schedule.
    let due = clock.now();
    let backToBack = 0;
    while (!this.#closed && this.hasWork()) {
      const prefillTokens = this.admit();
      if (this.#running.length === 0) {
        // Only aborted waiters were left, or (options forbid it) a request larger than the whole budget.
        this.#waiting.shift()?.fail(new ApiError('context_length_exceeded', 'The request needs more KV blocks than the engine has.'));
        continue;
      }
      const contextTokens = this.#running.reduce((n, s) => n + s.prompt.tokens + s.generated, 0);
      const now = clock.now();
      due = Math.max(due, now - MAX_LAG_MS) + stepMs(this.options, { running: this.#running.length, contextTokens, prefillTokens });
      if (due - now >= 1 || ++backToBack > MAX_BACK_TO_BACK) {
        backToBack = 0;
        await clock.sleep(Math.max(0, due - now));
      } else await Promise.resolve(); // consumers still see each step's events before the next
      if (this.#closed) return;
      let produced = 0;
      for (const s of this.#running) produced += s.step();
      this.#generationTokensTotal += produced;
      this.#rate.record(this.#clock.now(), produced);
      this.release((s) => s.done);
    }
  }

  /** Move waiting requests into the batch while slots and KV blocks allow; returns their uncached prompt tokens. */
  private admit(): number {
    for (const s of this.#waiting) if (s.signal.aborted) s.finish('abort');
    this.#waiting.splice(0, this.#waiting.length, ...this.#waiting.filter((s) => !s.done));
    let prefill = 0;
    while (this.#waiting.length > 0 && this.#running.length < this.options.maxRunning) {
      const s = this.#waiting[0]!;
      // First come, first served: a request that does not fit waits, and so do those behind it.
      if (!this.#kv.tryReserve(s.blocks)) break;
      this.#waiting.shift();
      // At least one prompt token is always computed (it produces the first logits).
      const hashes = s.prompt.blockHashes;
      const hit = this.#prefix.lookup(hashes, s.prompt.tokens, Math.floor((s.prompt.tokens - 1) / BLOCK_TOKENS));
      this.#prefix.insert(hashes);
      const cached = hit * BLOCK_TOKENS;
      this.#promptTokensTotal += s.prompt.tokens;
      prefill += s.prompt.tokens - cached;
      s.admit(cached);
      this.#running.push(s);
    }
    return prefill;
  }

  private release(leaving: (s: SimSequence) => boolean): void {
    const stay = this.#running.filter((s) => {
      if (!leaving(s)) return true;
      this.#kv.release(s.blocks);
      return false;
    });
    this.#running.splice(0, this.#running.length, ...stay);
  }

  private settleIdle(): void {
    if (this.hasWork()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  private whenIdle(): Promise<void> {
    if (!this.hasWork() && !this.#loop) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stop admitting; resolves once queued and running requests have finished. */
  drain(): Promise<void> {
    this.#draining = true;
    return this.whenIdle();
  }

  stats(): EngineStats {
    return {
      waiting: this.#waiting.length,
      running: this.#running.length,
      maxRunning: this.options.maxRunning,
      kvUsage: this.#kv.usage,
      tokensPerSecond: this.#rate.perSecond(this.#clock.now()),
      promptTokensTotal: this.#promptTokensTotal,
      generationTokensTotal: this.#generationTokensTotal,
      prefixCacheQueries: this.#prefix.queryTokens,
      prefixCacheHits: this.#prefix.hitTokens,
    };
  }

  /** Fail outstanding requests (engine_unavailable) and stop the loop. */
  async close(): Promise<void> {
    this.#closed = true;
    const err = new ApiError('engine_unavailable', 'The engine is shut down.');
    for (const s of this.#waiting.splice(0)) s.fail(err);
    this.release((s) => {
      s.fail(err);
      return true;
    });
    await this.#loop;
    this.settleIdle();
  }
}
