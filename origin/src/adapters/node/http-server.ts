/**
 * Serve a fetch handler (the Hono app) on Node with @hono/node-server. Client disconnects reach
 * the app as an aborted `request.signal` and a cancelled response stream, which is how the engine
 * learns to free a slot. `close` stops accepting, waits up to `graceMs` for open responses, then
 * cuts the remaining connections.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { replyToClientError, replyToUnmetExpectation, unparsableRequest } from '#shared/pre-route-errors.ts';

export interface NodeHttpServer {
  /** The bound port (useful with port 0). */
  port: number;
  close(graceMs: number): Promise<void>;
}

export interface HttpTimeouts {
  /** Most time to receive a whole request, headers and body (a slow upload is cut with 408). */
  requestTimeoutMs: number;
  /** Most time to receive the headers. */
  headersTimeoutMs: number;
  /** How often Node checks the two above. */
  checkIntervalMs: number;
}

// Node's request timeout covers receiving the request only, never the response, so a long
// streamed generation is not cut; it is what stops a client that uploads slowly or stalls.
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { requestTimeoutMs: 60_000, headersTimeoutMs: 20_000, checkIntervalMs: 2_000 };

/** Listen on host:port; resolves once bound, rejects on a bind error (port in use…). */
export function listenHttp(
  fetchHandler: (req: Request) => Response | Promise<Response>,
  host: string,
  port: number,
  timeouts: HttpTimeouts = DEFAULT_HTTP_TIMEOUTS,
): Promise<NodeHttpServer> {
  return new Promise((resolve, reject) => {
    const serverOptions = {
      requestTimeout: timeouts.requestTimeoutMs,
      headersTimeout: timeouts.headersTimeoutMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    };
    const server = createServer(serverOptions, getRequestListener(fetchHandler, { hostname: host, errorHandler: unparsableRequest }));
    // Requests refused before the app runs get OpenAI error JSON too (shared/src/pre-route-errors.ts).
    server.on('clientError', replyToClientError);
    server.on('checkExpectation', replyToUnmetExpectation);
    server.once('error', reject);
    server.listen(port, host);
    server.once('listening', () => {
      server.off('error', reject);
      const bound = (server.address() as AddressInfo).port;
      resolve({
        port: bound,
        close(graceMs) {
          return new Promise<void>((done) => {
            const timer = setTimeout(() => server.closeAllConnections(), graceMs);
            server.close(() => {
              clearTimeout(timer);
              done();
            });
            server.closeIdleConnections();
          });
        },
      });
    });
  });
}
