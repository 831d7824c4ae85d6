/**
 * A fake origin for edge tests: a small Hono app that verifies the edge's signature exactly as a
 * real origin must (shared/signing.ts, replay guard) and answers like one: OpenAI SSE chunks, a
 * usage chunk when asked, `[DONE]` (with tools offered, the text is followed by one call of the
 * chosen or first function, its arguments streamed in pieces); or misbehaves on demand (dies mid-stream, hangs, answers 503).
 * It records what it received so tests can assert on the forwarded request.
 */
import { Hono } from 'hono';
import { ApiError, errorResponse } from '#shared/errors.ts';
import { HEADERS, type Heartbeat } from '#shared/protocol.ts';
import { ReplayGuard, SIGNATURE_HEADER, signInputOf, verify } from '#shared/signing.ts';
import { SSE_DONE, SSE_HEADERS, sseData } from '#shared/sse.ts';
import type { OriginFetch } from '../proxy/upstream.ts';

/**
 * `unavailable`: 503 at capacity with a retry-after (busy: fail over, the replica is not sick);
 * `failing`: 503 with no retry-after (a broken replica: fail over and count it against its circuit).
 */
export type FakeMode = 'ok' | 'die-mid-stream' | 'hang' | 'unavailable' | 'failing' | 'server-error' | 'reject-400';

export interface SeenRequest {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface FakeOriginOptions {
  replicaId: string;
  keyring: ReadonlyMap<string, string>;
  model?: string;
  /** Base URL the replica advertises (default `http://<replicaId>.origin.test`). */
  url?: string;
  /** Content pieces streamed one per chunk. */
  pieces?: string[];
  mode?: FakeMode;
  now?: () => number;
}

export interface FakeOrigin {
  readonly app: Hono;
  readonly replicaId: string;
  readonly url: string;
  readonly model: string;
  readonly requests: SeenRequest[];
  /** Streams the edge cancelled (client disconnects reaching the origin). */
  cancelled: number;
  mode: FakeMode;
  /** A heartbeat for this replica (state ready, idle) with overrides. */
  heartbeat(overrides?: Partial<Heartbeat>): Heartbeat;
}

/** Create a fake origin. */
export function createFakeOrigin(opts: FakeOriginOptions): FakeOrigin {
  const now = opts.now ?? Date.now;
  const guard = new ReplayGuard();
  const pieces = opts.pieces ?? ['Hel', 'lo', ' world'];
  const app = new Hono();
  const origin: FakeOrigin = {
    app,
    replicaId: opts.replicaId,
    url: opts.url ?? `http://${opts.replicaId}.origin.test`,
    model: opts.model ?? 'motif-test',
    requests: [],
    cancelled: 0,
    mode: opts.mode ?? 'ok',
    heartbeat: (o = {}) => ({
      replica_id: opts.replicaId,
      node_id: opts.replicaId,
      url: origin.url,
      model: origin.model,
      revision: 'rev-1',
      state: 'ready',
      waiting: 0,
      running: 0,
      max_running: 8,
      kv_usage: 0,
      tokens_per_s: 0,
      ts: now(),
      ...o,
    }),
  };

  app.onError((err) => errorResponse(err));
  app.post('/v1/:kind{chat/completions|completions}', async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    const requestId = c.req.header(HEADERS.requestId) ?? '';
    await verify(c.req.header(SIGNATURE_HEADER), signInputOf(c.req.raw, body), opts.keyring, now());
    if (!guard.check(requestId, now())) throw new ApiError('conflict', 'replayed request id');
    const json = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
    origin.requests.push({ path: c.req.path, headers: Object.fromEntries(c.req.raw.headers), body: json });

    if (origin.mode === 'unavailable') throw new ApiError('overloaded', 'queue full', { retryAfter: 2 });
    if (origin.mode === 'failing') throw new ApiError('origin_unavailable', 'engine crashed');
    if (origin.mode === 'server-error') throw new ApiError('internal_error', `engine fault on ${origin.replicaId}`);
    if (origin.mode === 'reject-400') throw new ApiError('context_length_exceeded', 'prompt too long', { param: 'messages' });
    const chat = c.req.path.endsWith('/chat/completions');
    const usage = { prompt_tokens: 5, completion_tokens: pieces.length, total_tokens: 5 + pieces.length };
    const id = `cmpl-${requestId}`;
    const created = Math.floor(now() / 1000);
    const model = String(json.model);
    const call = chat ? fakeCall(json, requestId) : undefined;
    const finishReason = call ? 'tool_calls' : 'stop';
    if (json.stream !== true) {
      const text = pieces.join('');
      return c.json(
        chat
          ? {
              id,
              object: 'chat.completion',
              created,
              model,
              choices: [
                {
                  index: 0,
                  message: { role: 'assistant', content: text, ...(call ? { tool_calls: [{ id: call.id, type: 'function', function: call.function }] } : {}) },
                  logprobs: null,
                  finish_reason: finishReason,
                },
              ],
              usage,
            }
          : { id, object: 'text_completion', created, model, choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }], usage },
      );
    }
    const chunk = (piece: string | null, finish: string | null, delta: object = piece === null ? {} : { content: piece }) =>
      chat
        ? { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }
        : { id, object: 'text_completion', created, model, choices: [{ index: 0, text: piece ?? '', logprobs: null, finish_reason: finish }] };
    const frames: Uint8Array[] = [];
    if (chat)
      frames.push(
        sseData({
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
        }),
      );
    for (const p of pieces) frames.push(sseData(chunk(p, null)));
    if (call) {
      const { name, arguments: args } = call.function;
      const cut = Math.ceil(args.length / 2);
      frames.push(sseData(chunk(null, null, { tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name, arguments: '' } }] })));
      for (const piece of [args.slice(0, cut), args.slice(cut)])
        frames.push(sseData(chunk(null, null, { tool_calls: [{ index: 0, function: { arguments: piece } }] })));
    }
    frames.push(sseData(chunk(null, finishReason)));
    const opts2 = json.stream_options as { include_usage?: boolean } | undefined;
    if (opts2?.include_usage) frames.push(sseData({ id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model, choices: [], usage }));
    frames.push(SSE_DONE);

    const mode = origin.mode;
    let i = 0;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(ctrl) {
          // Misbehaviour starts after two frames have gone out, i.e. after the first byte.
          if (i === 2 && mode === 'die-mid-stream') return ctrl.error(new Error('origin process died'));
          if (i === 2 && mode === 'hang') return new Promise<void>(() => {});
          const f = frames[i++];
          if (f) ctrl.enqueue(f);
          else ctrl.close();
        },
        cancel() {
          origin.cancelled++;
        },
      },
      { highWaterMark: 0 },
    );
    return c.body(stream, 200, SSE_HEADERS);
  });
  return origin;
}

/**
 * A fake network of origins for `originFetch`: requests go to the origin whose URL host matches;
 * an unknown or `down` host fails like a refused connection (a TypeError, as fetch throws).
 */
export function fakeNetwork(origins: FakeOrigin[]): { fetch: OriginFetch; down: Set<string> } {
  const down = new Set<string>();
  return {
    down,
    async fetch(call) {
      const req = new Request(call.url, { method: call.method, headers: call.headers, body: call.body, signal: call.signal });
      const host = new URL(req.url).host;
      const o = origins.find((x) => new URL(x.url).host === host);
      if (!o || down.has(o.replicaId)) throw new TypeError('fetch failed: connect ECONNREFUSED');
      return o.app.fetch(req);
    },
  };
}

/** The call a chat request with tools gets: the named or first function, with fixed arguments. */
function fakeCall(json: Record<string, unknown>, requestId: string) {
  const tools = Array.isArray(json.tools) ? (json.tools as { function: { name: string } }[]) : [];
  const choice = json.tool_choice;
  if (tools.length === 0 || choice === 'none') return undefined;
  const named = typeof choice === 'object' && choice !== null ? (choice as { function: { name: string } }).function.name : undefined;
  return { id: `call_${requestId}`, function: { name: named ?? tools[0]!.function.name, arguments: '{"city":"Oslo"}' } };
}
