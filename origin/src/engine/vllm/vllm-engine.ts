/**
 * VllmEngine: the Engine port over one supervised `vllm serve` child (one per replica, i.e. per
 * GCD). `load` starts it (server-start.ts); generations go to its OpenAI API and come back as the
 * engine's events (openai-request.ts, openai-stream.ts); its `/metrics` are scraped into stats
 * (metrics-text.ts). A child that exits on its own is restarted with backoff (restart-policy.ts);
 * meanwhile `healthy()` is false, so the replica reports itself out of rotation, and new requests
 * are refused with a retryable 503. A weights update builds a new VllmEngine for the new snapshot,
 * and the rollout swaps engines as for any backend. No runtime imports: the child process comes
 * from the `VllmLauncher` the composition root passes.
 */
import { z } from 'zod';
import { ApiError, fromZodError } from '#shared/errors.ts';
import { readSse } from '#shared/sse.ts';
import type { Engine, EngineEvent, EngineInfo, EngineStats, GenerateRequest } from '../types.ts';
import { type Counters, createCounterCarry, readVllmSample, toEngineStats, tokensPerSecond, type VllmSample } from './metrics-text.ts';
import { toVllmRequest } from './openai-request.ts';
import { createStreamMapper, vllmError } from './openai-stream.ts';
import { VllmRecipeSchema } from './recipe.ts';
import { createRestartBackoff, type RestartBackoff, RestartPolicySchema } from './restart-policy.ts';
import { type RunningServer, startServer, type VllmLauncher } from './server-start.ts';

export const VllmEngineOptionsSchema = z.strictObject({
  /** The synced snapshot `vllm serve` loads. */
  modelDir: z.string().min(1),
  modelId: z.string().min(1),
  revision: z.string().min(1).default('local'),
  /** `--max-num-seqs`: the origin's admission lets exactly this many through. */
  maxRunning: z.number().int().min(1).max(4096).default(8),
  recipe: VllmRecipeSchema,
  /** The GPU (GCD) this replica owns, as ROCR_VISIBLE_DEVICES (recipe.ts `serveCommand`); absent = inherit. */
  gpu: z
    .string()
    .regex(/^[0-9,]+$/, 'device indices such as 0 or 1')
    .optional(),
  restart: RestartPolicySchema.default(RestartPolicySchema.parse({})),
  healthPollMs: z.number().int().min(10).max(60_000).default(500),
  metricsPollMs: z.number().int().min(50).max(60_000).default(1_000),
  /** How long a stopped child may take to exit after SIGTERM before SIGKILL. */
  stopGraceMs: z.number().int().min(0).max(600_000).default(15_000),
});
export type VllmEngineOptions = z.input<typeof VllmEngineOptionsSchema>;

export interface VllmEngineDeps {
  launchVllm?: VllmLauncher;
  log?: (line: string) => void;
  now?: () => number;
}

type State = 'idle' | 'starting' | 'ready' | 'restarting' | 'closed';

export class VllmEngine implements Engine {
  private readonly opts: z.infer<typeof VllmEngineOptionsSchema>;
  private readonly launcher: VllmLauncher | undefined;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly closing = new AbortController();
  private readonly backoff: RestartBackoff;
  private readonly carry = createCounterCarry();
  private state: State = 'idle';
  private server: RunningServer | undefined;
  private loading: Promise<void> | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private metricsTimer: ReturnType<typeof setInterval> | undefined;
  private sample: VllmSample | undefined;
  private totals: Counters = { promptTokensTotal: 0, generationTokensTotal: 0, prefixCacheQueries: 0, prefixCacheHits: 0 };
  private lastScrape: { atMs: number; generated: number } | undefined;
  private tps = 0;
  private scraping = false;
  private inflight = 0;
  private draining = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: VllmEngineOptions, deps: VllmEngineDeps = {}) {
    const r = VllmEngineOptionsSchema.safeParse(options);
    if (!r.success) throw fromZodError(r.error);
    this.opts = r.data;
    this.launcher = deps.launchVllm;
    this.log = deps.log ?? ((line) => console.log(line));
    this.now = deps.now ?? (() => Date.now());
    this.backoff = createRestartBackoff(this.opts.restart);
  }

  info(): EngineInfo {
    return { backend: 'vllm', model: this.opts.modelId, revision: this.opts.revision, maxContextTokens: this.server?.maxModelLen ?? 0 };
  }

  /** False while the child is starting or restarting: the replica is out of rotation meanwhile. */
  healthy(): boolean {
    return this.state === 'ready';
  }

  /** Start the child; resolves once it is healthy and warmed up, rejects with its last lines otherwise. */
  load(): Promise<void> {
    this.loading ??= (async () => {
      if (!this.launcher) throw new ApiError('engine_unavailable', 'The vllm engine was built without a process launcher.');
      this.state = 'starting';
      this.log(`vllm: starting the server for ${this.opts.modelId}@${this.opts.revision} (vLLM ${this.opts.recipe.version})`);
      this.adopt(await this.start(this.launcher));
      if (this.healthy()) this.metricsTimer = setInterval(() => void this.scrape(), this.opts.metricsPollMs);
    })();
    return this.loading;
  }

  private start(launcher: VllmLauncher): Promise<RunningServer> {
    const { modelDir, modelId, maxRunning, gpu } = this.opts;
    return startServer({
      recipe: this.opts.recipe,
      target: { modelDir, modelId, maxRunning, gpu },
      launcher,
      healthPollMs: this.opts.healthPollMs,
      stopGraceMs: this.opts.stopGraceMs,
      now: this.now,
      signal: this.closing.signal,
    });
  }

  private adopt(server: RunningServer): void {
    if (this.state === 'closed') {
      void server.process.stop(this.opts.stopGraceMs);
      return;
    }
    this.server = server;
    this.state = 'ready';
    void server.process.exited.then((exit) => {
      if (this.state === 'closed' || this.server !== server) return;
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      this.log(`vllm: the server for ${this.opts.modelId}@${this.opts.revision} ${how}; out of rotation until it is back`);
      this.state = 'restarting';
      this.sample = undefined;
      this.lastScrape = undefined;
      this.carry.restarted();
      this.scheduleRestart(this.now() - server.startedAt);
    });
  }

  private scheduleRestart(uptimeMs: number): void {
    const launcher = this.launcher;
    if (this.state === 'closed' || !launcher) return;
    const delay = this.backoff.nextDelayMs(uptimeMs);
    this.log(`vllm: restart ${this.backoff.attempts} in ${delay} ms`);
    this.restartTimer = setTimeout(async () => {
      try {
        this.adopt(await this.start(launcher));
        if (this.state === 'ready') this.log(`vllm: the server for ${this.opts.modelId}@${this.opts.revision} is back`);
      } catch (err) {
        this.log(`vllm: restart failed: ${(err as Error).message}`);
        this.scheduleRestart(0);
      }
    }, delay);
  }

  private async scrape(): Promise<void> {
    const server = this.server;
    if (this.scraping || this.state !== 'ready' || !server) return;
    this.scraping = true;
    try {
      const res = await fetch(`${server.baseUrl}/metrics`, { signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(5_000)]) });
      const text = await res.text();
      if (!res.ok || this.server !== server || this.state !== 'ready') return;
      const sample = readVllmSample(text);
      const at = { atMs: this.now(), generated: sample.generationTokensTotal };
      this.tps = tokensPerSecond(this.lastScrape, at);
      this.lastScrape = at;
      this.sample = sample;
      this.totals = this.carry.observe(sample);
    } catch {
      // The next scrape tries again; a dead server is noticed by its exit, not here.
    } finally {
      this.scraping = false;
    }
  }

  /**
   * Stream one request from vLLM. Refused (retryable 503) while the child is down or the engine
   * drains; vLLM's refusals become the origin's errors; a stream vLLM cuts (a crash) throws after
   * the events so far; when `signal` aborts, the upstream request is cancelled and the iterator
   * ends with `finish` (abort) and the usage so far.
   */
  async *generate(req: GenerateRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    const server = this.server;
    if (this.state === 'closed') throw new ApiError('engine_unavailable', 'The engine is shut down.');
    if (this.draining) throw new ApiError('engine_unavailable', 'The engine is draining.', { retryAfter: 1 });
    if (this.state !== 'ready' || !server)
      throw new ApiError('engine_unavailable', 'vLLM is not running right now (starting or restarting).', { retryAfter: 5 });
    this.inflight += 1;
    const upstream = new AbortController();
    const cancel = () => upstream.abort();
    signal.addEventListener('abort', cancel, { once: true });
    const mapper = createStreamMapper();
    try {
      if (signal.aborted) {
        yield mapper.aborted();
        return;
      }
      const { path, body } = toVllmRequest(req, this.opts.modelId);
      let res: Response;
      try {
        res = await fetch(`${server.baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': req.requestId },
          body: JSON.stringify(body),
          signal: upstream.signal,
        });
      } catch (err) {
        if (signal.aborted) {
          yield mapper.aborted();
          return;
        }
        throw new ApiError('engine_unavailable', 'vLLM could not be reached.', { retryAfter: 1, cause: err });
      }
      if (!res.ok || !res.body) throw vllmError(res.status, await res.text(), req.prompt.kind === 'chat' ? 'messages' : 'prompt');
      try {
        for await (const ev of readSse(res.body)) {
          if (ev.data === '[DONE]') break;
          for (const e of mapper.push(parseChunk(ev.data))) yield e;
        }
      } catch (err) {
        if (signal.aborted) {
          yield mapper.aborted();
          return;
        }
        if (err instanceof ApiError) throw err;
        throw new ApiError('engine_unavailable', 'vLLM stopped in the middle of the request.', { retryAfter: 1, cause: err });
      }
      yield signal.aborted ? mapper.aborted() : mapper.end();
    } finally {
      // Also when the consumer stopped early: closing the connection makes vLLM abort the request.
      upstream.abort();
      signal.removeEventListener('abort', cancel);
      this.inflight -= 1;
      if (this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Refuse new requests; resolves once the running ones have finished. */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.inflight > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  stats(): EngineStats {
    const live = this.state === 'ready' ? this.sample : undefined;
    return toEngineStats(live, this.totals, this.opts.maxRunning, live ? this.tps : 0);
  }

  /** Stop supervising and stop the child (SIGTERM, SIGKILL after the grace period). */
  async close(): Promise<void> {
    this.state = 'closed';
    this.closing.abort();
    clearTimeout(this.restartTimer);
    clearInterval(this.metricsTimer);
    await this.loading?.catch(() => {});
    await this.server?.process.stop(this.opts.stopGraceMs);
    this.server = undefined;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

function parseChunk(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new ApiError('engine_unavailable', 'vLLM sent a chunk that is not JSON.', { retryAfter: 1 });
  }
}
