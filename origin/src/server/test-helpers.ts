/**
 * Test support for the origin server (imported by *.test.ts only): a scripted test double of the
 * Engine port, a signed-request builder and an app factory with in-memory ports.
 */
import type { ApiError } from '#shared/errors.ts';
import { HEADERS } from '#shared/protocol.ts';
import { ReplayGuard, type ReplayWindow, SIGNATURE_HEADER, type SigningKey, signHeaders } from '#shared/signing.ts';
import { readSse, type SseEvent } from '#shared/sse.ts';
import type { Engine, EngineEvent, EngineInfo, EngineStats, GenerateRequest, TokenLogprob } from '../engine/types.ts';
import { createMemoryOutbox } from '../usage/outbox.ts';
import { createAdmission } from './admission.ts';
import { createOriginApp } from './app.ts';
import type { MetricsAccess, OriginDeps } from './deps.ts';
import { createLifecycle } from './lifecycle.ts';
import { createOriginMetrics } from './metrics.ts';

/** What the scripted engine does for one request. */
export interface Script {
  promptTokens: number;
  cachedTokens?: number;
  /** Emitted as deltas, one token each unless `tokenIds` says otherwise. */
  pieces: { text: string; tokenIds?: number[]; logprobs?: TokenLogprob[] }[];
  reason?: 'stop' | 'length';
  /** Thrown from the first `next()` (before any event): an ApiError such as overloaded. */
  refuse?: ApiError;
  /** Throw this after emitting `failAfter` deltas. */
  failAfter?: number;
  /** After this many deltas, wait until the signal aborts (then finish with reason abort). */
  hangAfter?: number;
  /** Wait for this before the first delta (holds a slot while a test fills the queue). */
  gate?: Promise<void>;
}

/** A deterministic Engine test double: replays scripts, records requests and abort signals. */
export class ScriptedTestEngine implements Engine {
  readonly requests: GenerateRequest[] = [];
  readonly signals: AbortSignal[] = [];
  running = 0;
  drained = false;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly script: (req: GenerateRequest) => Script,
    private readonly meta: EngineInfo = { backend: 'native', model: 'motif-test', revision: 'rev1', maxContextTokens: 128 },
  ) {}

  info(): EngineInfo {
    return this.meta;
  }
  async load(): Promise<void> {}
  async close(): Promise<void> {}
  async drain(): Promise<void> {
    this.drained = true;
    if (this.running > 0) await new Promise<void>((r) => this.idle.push(r));
  }
  stats(): EngineStats {
    return {
      waiting: 0,
      running: this.running,
      maxRunning: 4,
      kvUsage: 0.25,
      tokensPerSecond: 10,
      promptTokensTotal: 100,
      generationTokensTotal: 50,
      prefixCacheQueries: 40,
      prefixCacheHits: 30,
    };
  }

  async *generate(req: GenerateRequest, signal: AbortSignal): AsyncIterable<EngineEvent> {
    this.requests.push(req);
    this.signals.push(signal);
    const s = this.script(req);
    if (s.refuse) throw s.refuse;
    this.running++;
    try {
      const cached = s.cachedTokens ?? 0;
      yield { type: 'start', promptTokens: s.promptTokens, cachedTokens: cached };
      if (s.gate) await s.gate;
      let completion = 0;
      for (const [i, p] of s.pieces.entries()) {
        if (s.failAfter === i) throw new Error('scripted engine failure');
        if (s.hangAfter === i) await new Promise((r) => (signal.aborted ? r(null) : signal.addEventListener('abort', r, { once: true })));
        if (signal.aborted) {
          yield { type: 'finish', reason: 'abort', usage: { promptTokens: s.promptTokens, completionTokens: completion, cachedTokens: cached } };
          return;
        }
        const ids = p.tokenIds ?? [i];
        completion += ids.length;
        yield { type: 'delta', text: p.text, tokenIds: ids, ...(p.logprobs ? { logprobs: p.logprobs } : {}) };
      }
      if (s.failAfter === s.pieces.length) throw new Error('scripted engine failure');
      yield { type: 'finish', reason: s.reason ?? 'stop', usage: { promptTokens: s.promptTokens, completionTokens: completion, cachedTokens: cached } };
    } finally {
      this.running--;
      if (this.running === 0) for (const r of this.idle.splice(0)) r();
    }
  }
}

export const TEST_KEY: SigningKey = { kid: 'k1', secret: 'test-secret-0123456789' };

/** The bearer token `testOrigin` protects /metrics with, and a request that presents it. */
export const TEST_METRICS_TOKEN = 'test-metrics-token-0123456789';
export const metricsRequest = () => new Request('http://origin.test/metrics', { headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}` } });

/** A unique request id per call (tests replay one on purpose). */
export const nextRequestId = () => `req-${crypto.randomUUID()}`;

export interface SignedInit {
  body?: unknown;
  /** Exact body bytes to sign and send instead of `body` as JSON. */
  rawBody?: string | Uint8Array<ArrayBuffer>;
  method?: string;
  requestId?: string;
  tenantId?: string;
  headers?: Record<string, string>;
  /** Signing time; defaults to now. */
  at?: number;
  key?: SigningKey;
  signal?: AbortSignal;
}

/** A Request signed the way the edge signs forwarded requests. */
export async function signedRequest(path: string, init: SignedInit = {}): Promise<Request> {
  const method = init.method ?? (init.body === undefined && init.rawBody === undefined ? 'GET' : 'POST');
  const body = init.rawBody ?? (init.body === undefined ? '' : JSON.stringify(init.body));
  const requestId = init.requestId ?? nextRequestId();
  const tenantId = init.tenantId ?? 'tenant-a';
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [HEADERS.requestId]: requestId,
    [HEADERS.tenantId]: tenantId,
    [HEADERS.keyId]: 'key-1',
    ...init.headers,
  };
  // A test may pass its own (bad) signature in `headers`.
  headers[SIGNATURE_HEADER] ??= await signHeaders(method, path, headers, body, init.key ?? TEST_KEY, init.at ?? Date.now());
  return new Request(`http://origin.test${path}`, {
    method,
    headers,
    ...(method === 'GET' ? {} : { body }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

/** Build the app around a scripted engine with in-memory ports; returns the parts tests inspect. */
export function testOrigin(
  engine: ScriptedTestEngine,
  opts: { maxConcurrent?: number; maxQueue?: number; drainWaitMs?: number; replayWindow?: ReplayWindow; metricsAccess?: MetricsAccess } = {},
) {
  const outbox = createMemoryOutbox();
  const lifecycle = createLifecycle('ready');
  const admission = createAdmission({ maxConcurrent: opts.maxConcurrent ?? 4, maxQueue: opts.maxQueue ?? 4, retryAfterSeconds: 2 });
  const metrics = createOriginMetrics();
  const deps: OriginDeps = {
    engine,
    keyring: new Map([[TEST_KEY.kid, TEST_KEY.secret]]),
    replayGuard: opts.replayWindow ?? new ReplayGuard(),
    usage: outbox,
    clock: { now: () => Date.now() },
    replica: { replicaId: 'replica-1', nodeId: 'node-1' },
    admission,
    lifecycle,
    metrics,
    limits: { drainWaitMs: opts.drainWaitMs ?? 1_000 },
    outboxBacklog: () => outbox.all.filter((e) => !e.delivered).length,
    // An explicit `metricsAccess: undefined` tests the closed default.
    metricsAccess: 'metricsAccess' in opts ? opts.metricsAccess : { token: TEST_METRICS_TOKEN },
  };
  return { app: createOriginApp(deps), outbox, lifecycle, admission, metrics, deps };
}

/** All SSE events of a response body. */
export async function sseEvents(res: Response): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  if (!res.body) return out;
  for await (const ev of readSse(res.body)) out.push(ev);
  return out;
}

/** Poll `cond` (bounded) — for effects that complete after a response was returned. */
export async function eventually(cond: () => boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('condition not reached');
}
