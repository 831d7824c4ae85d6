/**
 * A bare HTTP/1.1 client over a TCP socket: the fuzzer must send what fetch refuses to send
 * (odd methods, bytes that are not UTF-8, floods of headers, conflicting framing) and read what a
 * server answers to it, including the answers Node's HTTP parser gives before the app sees
 * anything. One connection per request, kept open as SDK clients keep theirs (a server that
 * answers before reading a body drains it then): the exchange ends at the first complete response.
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: Buffer;
}

export type RawOutcome = { kind: 'response'; response: RawResponse } | { kind: 'no-response'; detail: string };

export interface RawRequest {
  method: string;
  path: string;
  /** Name/value pairs in order; values may carry any latin1 byte except CR and LF. */
  headers?: [string, string][];
  body?: Uint8Array;
  /** Send the body with `transfer-encoding: chunked` in chunks of this size instead of a content-length. */
  chunkSize?: number;
  /** Leave out the framing headers the client would add (content-length / transfer-encoding). */
  noFraming?: boolean;
}

/** The request as bytes on the wire. */
export function encodeRequest(req: RawRequest, host: string): Buffer {
  const lines = [`${req.method} ${req.path} HTTP/1.1`, `host: ${host}`];
  for (const [k, v] of req.headers ?? []) lines.push(`${k}: ${v}`);
  const body = req.body ?? new Uint8Array(0);
  let payload: Buffer = Buffer.from(body);
  if (!req.noFraming) {
    if (req.chunkSize) {
      lines.push('transfer-encoding: chunked');
      const parts: Buffer[] = [];
      for (let at = 0; at < body.length; at += req.chunkSize) {
        const chunk = body.subarray(at, at + req.chunkSize);
        parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), Buffer.from(chunk), Buffer.from('\r\n'));
      }
      parts.push(Buffer.from('0\r\n\r\n'));
      payload = Buffer.concat(parts);
    } else if (body.length > 0 || req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH') {
      lines.push(`content-length: ${body.length}`);
    }
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

/** Send `bytes` to 127.0.0.1:port and read one response (complete by its framing, or by the server closing). */
export function rawExchange(port: number, bytes: Buffer, opts: { timeoutMs?: number; head?: boolean } = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    let settled = false;
    const done = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const finish = (why: string) => {
      const all = Buffer.concat(received);
      const parsed = parseResponse(all, opts.head ?? false);
      done(
        parsed
          ? { kind: 'response', response: parsed }
          : { kind: 'no-response', detail: `${why} after ${all.length} bytes: ${all.subarray(0, 200).toString('latin1')}` },
      );
    };
    const timer = setTimeout(() => finish(`no complete response within ${opts.timeoutMs ?? 30_000} ms`), opts.timeoutMs ?? 30_000);
    socket.on('data', (d: Buffer) => {
      received.push(d);
      // A server may answer before it read the whole body (413) and then reset: keep what came.
      const parsed = parseResponse(Buffer.concat(received), opts.head ?? false, true);
      if (parsed) done({ kind: 'response', response: parsed });
    });
    socket.on('end', () => finish('connection closed'));
    socket.on('close', () => finish('connection closed'));
    // A write error after the server answered (it stopped reading an oversized upload) is fine.
    socket.on('error', (err) => finish(`socket error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    socket.on('connect', () => {
      // Large bodies go in slices so a server that answers early gets to say so.
      let at = 0;
      const pump = () => {
        while (at < bytes.length && !socket.destroyed) {
          const slice = bytes.subarray(at, at + 256 * 1024);
          at += slice.length;
          if (!socket.write(slice)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
  });
}

/**
 * Parse one complete response from `buf` (skipping 1xx interim responses); null while incomplete.
 * With `needComplete` a body delimited only by the connection's end counts as incomplete.
 */
export function parseResponse(buf: Buffer, head: boolean, needComplete = false): RawResponse | null {
  let start = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', start);
    if (end < 0) return null;
    const headText = buf.subarray(start, end).toString('latin1');
    const [statusLine = '', ...headerLines] = headText.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!m) return null;
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const k = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    const bodyStart = end + 4;
    if (status >= 100 && status < 200) {
      start = bodyStart;
      continue;
    }
    if (head || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
    const rest = buf.subarray(bodyStart);
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const body = dechunk(rest);
      return body ? { status, headers, body } : null;
    }
    if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      return rest.length >= len ? { status, headers, body: rest.subarray(0, len) } : null;
    }
    return needComplete ? null : { status, headers, body: rest };
  }
}

function dechunk(buf: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = Number.parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) return null;
    if (size === 0) return Buffer.concat(parts);
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
