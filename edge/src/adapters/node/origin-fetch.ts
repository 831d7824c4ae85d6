/**
 * The Node edge's client to origins: node:http(s) with keep-alive agents instead of the global
 * `fetch`. Per call, `fetch` builds a WHATWG Request, an AbortSignal chain and web streams for
 * both bodies (undici), which costs several times the HTTP exchange itself for the small
 * request and answer of a completion. Here the request is written straight to a pooled socket;
 * a JSON answer is read into one buffer; only an SSE answer becomes a web stream, which the
 * relay needs.
 *
 * Failures keep fetch's shape so the failover logic is runtime-blind: a connection error rejects
 * with a TypeError, an abort rejects with the signal's reason.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { OriginCall, OriginFetch, OriginHeaders, OriginResponse } from '../../proxy/upstream.ts';

export interface NodeOriginFetch {
  fetch: OriginFetch;
  /** Close idle pooled sockets (at shutdown). */
  close(): void;
}

export interface NodeOriginFetchOptions {
  /** Sockets per origin (default 256: above the engines' admission limits). */
  maxSockets?: number;
}

/** A pooled node:http client for origin calls. */
export function nodeOriginFetch(opts: NodeOriginFetchOptions = {}): NodeOriginFetch {
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 256, scheduling: 'lifo' as const };
  const http = new HttpAgent(agentOpts);
  const https = new HttpsAgent(agentOpts);
  return {
    fetch: (call) => send(call, call.url.protocol === 'https:' ? { agent: https, request: httpsRequest } : { agent: http, request: httpRequest }),
    close() {
      http.destroy();
      https.destroy();
    },
  };
}

interface Transport {
  agent: HttpAgent;
  request: typeof httpRequest;
}

function send(call: OriginCall, t: Transport): Promise<OriginResponse> {
  return new Promise((resolve, reject) => {
    const { signal } = call;
    if (signal.aborted) return reject(signal.reason);
    const body = Buffer.from(call.body);
    const req = t.request(call.url, {
      method: call.method,
      agent: t.agent,
      headers: { ...call.headers, 'content-length': String(body.length) },
    });
    let settled = false;
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const fail = (err: unknown) => {
      signal.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      reject(signal.aborted ? signal.reason : new TypeError(`fetch failed: ${(err as Error).message}`, { cause: err }));
    };
    req.on('error', fail);
    req.on('response', (res) => {
      const isSse = (res.headers['content-type'] ?? '').startsWith('text/event-stream');
      if (isSse) {
        settled = true;
        // The relay reads this stream and cancels it on a client abort; the signal also
        // destroys the socket, which ends the stream with an error.
        res.on('close', () => signal.removeEventListener('abort', onAbort));
        resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status: res.statusCode ?? 502, headers: webHeaders(res) }));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      // The origin answered, then failed mid-body: that is the answer (a broken one), not a
      // connection failure to fail over from — the origin may already have done the work.
      const broken = (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        const cause = signal.aborted ? signal.reason : err;
        const failing = new ReadableStream<Uint8Array>({ start: (c) => c.error(cause) });
        resolve(new Response(failing, { status: res.statusCode ?? 502, headers: webHeaders(res) }));
      };
      res.on('error', broken);
      res.on('aborted', () => broken(new Error('the origin closed the connection mid-answer')));
      res.on('end', () => {
        signal.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        const status = res.statusCode ?? 502;
        const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
        resolve({ status, ok: status >= 200 && status < 300, headers: lightHeaders(res), body: null, text: async () => text });
      });
    });
    req.end(body);
  });
}

function webHeaders(res: IncomingMessage): Headers {
  const h = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i]!, raw[i + 1]!);
  return h;
}

/** The answer's headers as Node parsed them (lowercase names, repeated ones joined). */
function lightHeaders(res: IncomingMessage): OriginHeaders {
  const joined = (v: string | string[] | undefined) => (v === undefined ? null : Array.isArray(v) ? v.join(', ') : v);
  return {
    get: (name) => joined(res.headers[name.toLowerCase()]),
    *[Symbol.iterator]() {
      for (const [k, v] of Object.entries(res.headers)) {
        const value = joined(v);
        if (value !== null) yield [k, value] as [string, string];
      }
    },
  };
}
