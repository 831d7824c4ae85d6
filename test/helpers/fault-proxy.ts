/**
 * An HTTP proxy on loopback in front of the embedded S3 that a test switches between faults
 * while a client (an origin syncing weights) talks through it:
 * - `pass`: forward as is;
 * - `down`: every connection is reset, open transfers included (S3 gone mid-download);
 * - `slow`: object bodies trickle at `slowBytesPerSecond`;
 * - `corrupt`: one byte of every object body that `corruptKey` matches is flipped (same length,
 *   so only a content hash can tell).
 * Requests are forwarded with their headers unchanged, so SigV4 signatures still verify.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProxyMode = 'pass' | 'down' | 'slow' | 'corrupt';

export interface FaultProxy {
  url: string;
  mode: ProxyMode;
  slowBytesPerSecond: number;
  /** Which object keys (request paths) `corrupt` damages. */
  corruptKey: RegExp;
  /** Requests seen per mode (a test checks the fault was actually met). */
  readonly seen: Record<ProxyMode, number>;
  set(mode: ProxyMode): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    url: '',
    mode: 'pass',
    slowBytesPerSecond: 64 * 1024,
    corruptKey: /\.safetensors$/,
    seen: { pass: 0, down: 0, slow: 0, corrupt: 0 },
    set(mode) {
      proxy.mode = mode;
      // S3 going away also cuts the transfers in progress.
      if (mode === 'down') for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const mode = proxy.mode;
    proxy.seen[mode]++;
    if (mode === 'down') {
      req.socket.destroy();
      return;
    }
    const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      const isObject = req.method === 'GET' && (upRes.statusCode === 200 || upRes.statusCode === 206);
      if (mode === 'corrupt' && isObject && proxy.corruptKey.test(decodeURIComponent(req.url ?? '').split('?')[0]!)) {
        let flipped = false;
        upRes.on('data', (chunk: Buffer) => {
          if (!flipped && chunk.length > 0) {
            const at = chunk.length >> 1;
            chunk[at] = (chunk[at] ?? 0) ^ 0xff;
            flipped = true;
          }
          res.write(chunk);
        });
        upRes.on('end', () => res.end());
      } else if (mode === 'slow' && isObject) {
        trickle(upRes, res, proxy.slowBytesPerSecond);
      } else {
        upRes.pipe(res);
      }
      upRes.on('error', () => res.destroy());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/** Forward `from` to `to` at about `bytesPerSecond`, in 10 slices a second. */
function trickle(from: NodeJS.ReadableStream, to: NodeJS.WritableStream & { destroyed?: boolean }, bytesPerSecond: number): void {
  const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
  let queue = Buffer.alloc(0);
  let ended = false;
  const timer = setInterval(() => {
    if (to.destroyed) {
      clearInterval(timer);
      return;
    }
    if (queue.length > 0) {
      to.write(queue.subarray(0, slice));
      queue = queue.subarray(slice);
    }
    if (ended && queue.length === 0) {
      clearInterval(timer);
      to.end();
    }
  }, 100);
  from.on('data', (c: Buffer) => {
    queue = Buffer.concat([queue, c]);
  });
  from.on('end', () => {
    ended = true;
  });
  from.on('error', () => clearInterval(timer));
}
