/**
 * Client load for fault tests: requests through the edge as a client sends them, each classified
 * by what the client saw, with the request id the edge echoed (the ledger's key). Loops are
 * bounded by a count or a stop call and every request by a timeout, so a hang shows up as `hung`
 * instead of a stuck test.
 */
import { SseParser } from '#shared/sse.ts';

/**
 * - `served`: 200 and a complete answer (JSON with choices, or a stream that ended with `[DONE]`);
 * - `cut`: 200, then the stream ended in an SSE `error` event or the connection broke: a clean,
 *   visible failure after the first byte;
 * - `refused`: 429/503 with `retry-after` before any answer (retryable);
 * - `error`: any other status (its error code is kept);
 * - `unreachable`: no response at all (connection refused or reset before the status line);
 * - `hung`: nothing decisive within the request timeout.
 */
export type OutcomeKind = 'served' | 'cut' | 'refused' | 'error' | 'unreachable' | 'hung';

export interface RequestOutcome {
  kind: OutcomeKind;
  /** The id the edge echoed (`x-request-id`); absent when there was no response. */
  id?: string;
  status?: number;
  /** Error code (OpenAI error JSON or SSE error event) or the network error's message. */
  detail?: string;
  stream: boolean;
  startedAt: number;
  endedAt: number;
}

export interface ClientRequest {
  edgeUrl: string;
  apiKey: string;
  model: string;
  stream: boolean;
  maxTokens: number;
  /** Called with the response once its status line arrived (fault tests time a kill this way). */
  onResponse?: (res: Response) => void;
  /** Called for each SSE data chunk with content (a kill mid-stream waits for the first one). */
  onChunk?: () => void;
  timeoutMs?: number;
  prompt?: string;
}

/** One chat completion through the edge, classified. Never throws. */
export async function clientRequest(r: ClientRequest): Promise<RequestOutcome> {
  const startedAt = Date.now();
  const timeout = AbortSignal.timeout(r.timeoutMs ?? 60_000);
  const done = (o: Omit<RequestOutcome, 'stream' | 'startedAt' | 'endedAt'>): RequestOutcome => ({ ...o, stream: r.stream, startedAt, endedAt: Date.now() });
  let res: Response;
  try {
    res = await fetch(`${r.edgeUrl}/v1/chat/completions`, {
      method: 'POST',
      signal: timeout,
      headers: { authorization: `Bearer ${r.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: r.model,
        stream: r.stream,
        max_tokens: r.maxTokens,
        ignore_eos: true,
        messages: [{ role: 'user', content: r.prompt ?? 'Tell me a story about faults.' }],
      }),
    });
  } catch (err) {
    return done({ kind: timeout.aborted ? 'hung' : 'unreachable', detail: causeOf(err) });
  }
  const id = res.headers.get('x-request-id') ?? undefined;
  r.onResponse?.(res);
  if (res.status !== 200) {
    const text = await res.text().catch(() => '');
    const code = errorCode(text);
    const retryable = (res.status === 503 || res.status === 429) && res.headers.get('retry-after') !== null;
    return done({ kind: retryable ? 'refused' : 'error', id, status: res.status, detail: code });
  }
  try {
    if (!r.stream) {
      const body = (await res.json()) as { choices?: unknown[] };
      return done(
        Array.isArray(body.choices) && body.choices.length > 0 ? { kind: 'served', id, status: 200 } : { kind: 'cut', id, status: 200, detail: 'no choices' },
      );
    }
    const parser = new SseParser();
    const dec = new TextDecoder();
    const reader = res.body!.getReader();
    let sawDone = false;
    let errorEvent: string | undefined;
    for (;;) {
      const { done: end, value } = await reader.read();
      if (end) break;
      for (const ev of parser.push(dec.decode(value, { stream: true }))) {
        if (ev.event === 'error') errorEvent = errorCode(ev.data) ?? 'error';
        else if (ev.data === '[DONE]') sawDone = true;
        else if (ev.data.includes('"content"')) r.onChunk?.();
      }
    }
    if (sawDone && !errorEvent) return done({ kind: 'served', id, status: 200 });
    return done({ kind: 'cut', id, status: 200, detail: errorEvent ?? 'ended without [DONE]' });
  } catch (err) {
    return done({ kind: timeout.aborted ? 'hung' : 'cut', id, status: 200, detail: causeOf(err) });
  }
}

export interface LoadOptions extends Omit<ClientRequest, 'stream' | 'onResponse' | 'onChunk'> {
  clients: number;
  /** Each client's requests alternate streamed and JSON (default); `false`: all streamed. */
  mixed?: boolean;
  /** All JSON, none streamed (overrides `mixed`). */
  json?: boolean;
  /** A prompt per request (client index, request index), as distinct users send; default `prompt`. */
  promptOf?: (client: number, i: number) => string;
  /** Pause between a client's requests. */
  pauseMs?: number;
  /** Pause after a request that was not served, as a client backs off (default 100 ms). */
  backoffMs?: number;
  /** Stop after this many requests in all (a bound even if `stop()` is never called). */
  maxRequests: number;
}

export interface Load {
  /** Outcomes so far, in completion order. */
  readonly outcomes: RequestOutcome[];
  /** Let running requests finish, start no more; resolves with every outcome. */
  stop(): Promise<RequestOutcome[]>;
}

/** `clients` concurrent loops of requests until `stop()` or `maxRequests`. */
export function startLoad(o: LoadOptions): Load {
  const outcomes: RequestOutcome[] = [];
  let started = 0;
  let stopping = false;
  const loops = Array.from({ length: o.clients }, async (_, c) => {
    for (let i = 0; !stopping && started < o.maxRequests; i++) {
      started++;
      const stream = o.json ? false : o.mixed === false ? true : (c + i) % 2 === 0;
      const out = await clientRequest({ ...o, stream, ...(o.promptOf ? { prompt: o.promptOf(c, i) } : {}) });
      outcomes.push(out);
      const pause = out.kind === 'served' ? (o.pauseMs ?? 0) : (o.backoffMs ?? 100);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  });
  const all = Promise.all(loops).then(() => outcomes);
  return {
    outcomes,
    stop() {
      stopping = true;
      return all;
    },
  };
}

/** How many outcomes of each kind. */
export function tally(outcomes: readonly RequestOutcome[]): Record<OutcomeKind, number> {
  const t: Record<OutcomeKind, number> = { served: 0, cut: 0, refused: 0, error: 0, unreachable: 0, hung: 0 };
  for (const o of outcomes) t[o.kind]++;
  return t;
}

/** `served=12 cut=1 …` with the kinds that occurred. */
export function describeTally(outcomes: readonly RequestOutcome[]): string {
  return Object.entries(tally(outcomes))
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
}

function errorCode(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: { code?: string | null; type?: string } };
    return body.error?.code ?? body.error?.type ?? undefined;
  } catch {
    return undefined;
  }
}

function causeOf(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
