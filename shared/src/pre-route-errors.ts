/**
 * Requests an HTTP server refuses before any route sees them still get OpenAI error JSON: an
 * unknown method, a header block over the limit, broken framing, a request line that is not
 * HTTP (the parser's `clientError`), a target or host that is no URL (the adapter cannot build a
 * Request), an `expect` other than 100-continue. Node's own answers carry no body, which an
 * OpenAI client cannot read. Runtime-neutral: sockets and responses are described by the few
 * methods used, and the Node servers of edge and origin attach these handlers.
 */
import { ApiError, errorResponse, toErrorResponseParts } from './errors.ts';

/** The parts of a socket the reply needs (a `node:net` Socket has them). */
export interface ClientErrorSocket {
  readonly writable: boolean;
  end(data: string): unknown;
  destroy(): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'data', listener: (chunk: unknown) => void): unknown;
  removeAllListeners(event: 'data'): unknown;
  resume(): unknown;
}

/** How long a refused connection is still read (and discarded) so the client sees the answer. */
export const LINGER_MS = 2_000;

/** The refusal for a parser error code (`HPE_HEADER_OVERFLOW`, `ERR_HTTP_REQUEST_TIMEOUT`, …); an unknown method is a 400 too. */
export function clientErrorFor(code: string | undefined): ApiError {
  if (code === 'HPE_HEADER_OVERFLOW') return new ApiError('header_fields_too_large', 'The request headers are too large.');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new ApiError('request_timeout', 'The request was not received in time.');
  return new ApiError('invalid_request_error', 'The HTTP request could not be parsed.');
}

/** A whole HTTP/1.1 response carrying `err` as OpenAI error JSON; the connection closes after it. */
export function rawErrorResponse(err: ApiError): string {
  const { status, body, headers } = toErrorResponseParts(err);
  const json = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}`,
    'content-type: application/json',
    `content-length: ${new TextEncoder().encode(json).length}`,
    'connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${json}`;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * The answer when the HTTP adapter could not turn the request into a `Request` (a target such as
 * `*`, a backslash in the path, a host header that is no host): the app never ran, so no route
 * could answer. Anything else thrown there is the server's fault and stays a 500, but readable.
 */
export function unparsableRequest(err: unknown): Response {
  const isRequestError = err instanceof Error && err.name === 'RequestError';
  return errorResponse(isRequestError ? new ApiError('invalid_request_error', `The request could not be read: ${err.message}.`) : err);
}

/** The parts of a response `replyToUnmetExpectation` writes (a `node:http` ServerResponse has them). */
export interface ExpectationResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
}

/** `checkExpectation` listener: an `expect` other than 100-continue is refused with 417, as JSON. */
export function replyToUnmetExpectation(_req: unknown, res: ExpectationResponse): void {
  const { status, body, headers } = toErrorResponseParts(new ApiError('expectation_failed', 'Only `expect: 100-continue` is supported.', { param: 'expect' }));
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(new TextEncoder().encode(json).length), ...headers });
  res.end(json);
}

const answered = new WeakSet<object>();

/**
 * The `clientError` listener: answer once, then keep reading what the client still sends for
 * LINGER_MS before closing, so the answer is not lost to a reset while the client is mid-upload.
 * A connection that is already gone (reset, timed out while idle) is just destroyed.
 */
export function replyToClientError(err: Error & { code?: string }, socket: ClientErrorSocket): void {
  if (answered.has(socket)) return;
  answered.add(socket);
  socket.on('error', () => {});
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.removeAllListeners('data');
  socket.on('data', () => {});
  socket.resume();
  socket.end(rawErrorResponse(clientErrorFor(err.code)));
  // Not holding the process open: a server that is closing need not wait for this.
  (setTimeout(() => socket.destroy(), LINGER_MS) as unknown as { unref?: () => void }).unref?.();
}
