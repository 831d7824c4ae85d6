/**
 * Requests a Node HTTP server refuses before any route sees them, as raw bytes, with the status
 * each must get; the edge's and the origin's server tests run the same table against their real
 * sockets, and every answer must be OpenAI error JSON (shared/src/pre-route-errors.ts).
 */
import { connect } from 'node:net';

export const PRE_ROUTE_CASES: { name: string; bytes: Buffer; status: number }[] = [
  { name: 'an unknown method', bytes: Buffer.from('FOO / HTTP/1.1\r\nhost: x\r\n\r\n'), status: 400 },
  { name: 'a lower-case method', bytes: Buffer.from('get /healthz HTTP/1.1\r\nhost: x\r\n\r\n'), status: 400 },
  { name: 'a target that is not a path', bytes: Buffer.from('GET * HTTP/1.1\r\nhost: x\r\n\r\n'), status: 400 },
  { name: 'a request line that is not HTTP', bytes: Buffer.from('\x00\x01 nonsense\r\n\r\n', 'latin1'), status: 400 },
  {
    name: 'content-length and chunked together',
    bytes: Buffer.from('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n'),
    status: 400,
  },
  { name: 'an expectation other than 100-continue', bytes: Buffer.from('GET /healthz HTTP/1.1\r\nhost: x\r\nexpect: teapot\r\n\r\n'), status: 417 },
  // 10,000 headers (~170 KB) while the client is still sending: the answer must not be lost to a reset.
  {
    name: 'a header block far over the limit',
    bytes: Buffer.from(`GET / HTTP/1.1\r\nhost: x\r\n${Array.from({ length: 10_000 }, (_, i) => `x-h-${i}: y\r\n`).join('')}\r\n`),
    status: 431,
  },
  { name: 'one huge header', bytes: Buffer.from(`GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'z'.repeat(100_000)}\r\n\r\n`), status: 431 },
];

/** Send raw bytes, read until the server closes; the status, content type and body of the answer. */
export function sendRaw(port: number, bytes: Buffer): Promise<{ status: number; contentType: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      got += d;
    });
    const done = () => {
      const [head = '', body = ''] = got.split('\r\n\r\n', 2);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1];
      if (!status) reject(new Error(`no HTTP answer: ${JSON.stringify(got.slice(0, 200))}`));
      else resolve({ status, contentType, body });
    };
    socket.on('close', done);
    socket.on('error', () => {});
  });
}
