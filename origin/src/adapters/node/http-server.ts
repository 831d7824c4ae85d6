/**
 * Serve a fetch handler (the Hono app) on Node with @hono/node-server. Client disconnects reach
 * the app as an aborted `request.signal` and a cancelled response stream, which is how the engine
 * learns to free a slot. `close` stops accepting, waits up to `graceMs` for open responses, then
 * cuts the remaining connections.
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

export interface NodeHttpServer {
  /** The bound port (useful with port 0). */
  port: number;
  close(graceMs: number): Promise<void>;
}

/** Listen on host:port; resolves once bound, rejects on a bind error (port in use…). */
export function listenHttp(fetchHandler: (req: Request) => Response | Promise<Response>, host: string, port: number): Promise<NodeHttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: fetchHandler, hostname: host, port }) as Server;
    // Long generations: Node's default request timeout (5 min) would cut them mid-stream.
    server.requestTimeout = 0;
    server.once('error', reject);
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
