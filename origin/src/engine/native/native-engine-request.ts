/**
 * One generation request inside the native engine: turns each step's logits into a token
 * (Sampler), the token into text (TextStream) and both into Engine events, and decides when the
 * sequence ends (eos → 'stop', stop string → 'stop', token budget → 'length'). The scheduler only
 * sees the resulting `Job`.
 */
import type { EngineEvent, EngineUsage, FinishReason, GenerateRequest, TokenLogprob } from '../types.ts';
import type { Job } from './batching/scheduler.ts';
import { type GrammarCache, toolCallFormat } from './grammar/json-constraint.ts';
import { createPrng } from './sampling/prng.ts';
import { type SampleResult, Sampler, type SamplerWorkspace } from './sampling/sampler.ts';
import { TextStream } from './text/text-stream.ts';
import type { MotifTokenizer } from './text/tokenizer.ts';

/** A push-driven async iterator: producers `push`/`end`/`fail`, one consumer iterates. */
export class EventChannel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private error: { err: unknown } | undefined;

  push(value: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value, done: false });
    } else this.queue.push(value);
  }

  end(): void {
    this.ended = true;
    this.settleWaiter();
  }

  fail(err: unknown): void {
    if (this.ended) return;
    this.error = { err };
    this.ended = true;
    this.settleWaiter();
  }

  private settleWaiter(): void {
    if (!this.waiter || this.queue.length > 0) return;
    const w = this.waiter;
    this.waiter = undefined;
    if (this.error) w.reject(this.error.err);
    else w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.error) return Promise.reject(this.error.err);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export interface RequestContext {
  tokenizer: MotifTokenizer;
  eosTokenIds: ReadonlySet<number>;
  workspace: SamplerWorkspace;
  /** Compiled response formats (structured output). */
  grammars: GrammarCache;
}

/**
 * Build the scheduler job for `req`; events go to `events` (`start` on admission, `delta`s, then
 * `finish`, after which it ends).
 */
export function createGenerationJob(
  ctx: RequestContext,
  req: GenerateRequest,
  promptIds: readonly number[],
  maxNewTokens: number,
  signal: AbortSignal,
  events: EventChannel<EngineEvent>,
): Job {
  const sampler = new Sampler({
    params: req.sampling,
    random: createPrng(req.sampling.seed),
    promptIds,
    ...(req.topLogprobs !== undefined ? { topLogprobs: req.topLogprobs } : {}),
  });
  // Compiled before submission: an unsupported schema is a 400, not a failed sequence.
  const format = req.responseFormat ?? toolCallFormat(req.tools);
  const constraint = format ? ctx.grammars.constraint(format) : undefined;
  const text = new TextStream({ stop: req.stop, cleanUpSpaces: ctx.tokenizer.cleanUpSpaces });
  let generated = 0;
  let cachedTokens = 0;
  const usage = (): EngineUsage => ({ promptTokens: promptIds.length, completionTokens: generated, cachedTokens });
  const finish = (reason: FinishReason): undefined => {
    events.push({ type: 'finish', reason, usage: usage() });
    events.end();
    return undefined;
  };

  return {
    promptIds,
    reserveTokens: promptIds.length + maxNewTokens,
    signal,
    onStart(info) {
      cachedTokens = info.cachedTokens;
      events.push({ type: 'start', promptTokens: promptIds.length, cachedTokens });
    },
    onLogits(logits) {
      constraint?.apply(logits);
      const r = sampler.sample(logits, ctx.workspace);
      generated++;
      // Under a grammar eos is only allowed once the document is complete: it ends it, except in
      // the free text around tool calls, which ignore_eos continues as it does unconstrained text.
      if (ctx.eosTokenIds.has(r.id) && (!req.ignoreEos || (constraint && !constraint.inFreeText))) {
        // The eos token is billed (it was generated) but carries no text.
        const tail = text.end();
        if (tail.text) events.push({ type: 'delta', text: tail.text, tokenIds: [] });
        return finish('stop');
      }
      // Special tokens never become text (vLLM's skip_special_tokens default).
      const pushed = text.push(ctx.tokenizer.isSpecial(r.id) ? EMPTY : ctx.tokenizer.tokenBytes(r.id));
      let out = pushed.text;
      let reason: FinishReason | undefined = pushed.stopped ? 'stop' : undefined;
      constraint?.accept(r.id);
      if (!reason && constraint?.finished) {
        // The document is complete and nothing may follow: end as if eos was sampled.
        out += text.end().text;
        reason = 'stop';
      }
      if (!reason && generated >= maxNewTokens) {
        const tail = text.end();
        out += tail.text;
        reason = tail.stopped ? 'stop' : 'length';
      }
      events.push({ type: 'delta', text: out, tokenIds: [r.id], ...(r.top ? { logprobs: [toLogprob(ctx.tokenizer, r)] } : {}) });
      return reason ? finish(reason) : r.id;
    },
    onAbort: () => finish('abort'),
    onError: (err) => events.fail(err),
  };
}

const EMPTY = new Uint8Array(0);

function toLogprob(tok: MotifTokenizer, r: SampleResult): TokenLogprob {
  const entry = (id: number, logprob: number) => ({ token: tok.tokenText(id), logprob, bytes: [...tok.tokenBytes(id)] });
  return { ...entry(r.id, r.logprob ?? 0), top: (r.top ?? []).map((t) => entry(t.id, t.logprob)) };
}
